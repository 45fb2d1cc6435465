# The service <-> library protocol decoders (src/ipc).
add_library(httpapi_ipc_fuzz STATIC ${PROJECT_SOURCE_DIR}/src/ipc/body_chunks.cpp
            ${PROJECT_SOURCE_DIR}/src/ipc/frame.cpp ${PROJECT_SOURCE_DIR}/src/ipc/frame_merge.cpp ${PROJECT_SOURCE_DIR}/src/ipc/frame_ring.cpp ${PROJECT_SOURCE_DIR}/src/ipc/sealed_page.cpp
            ${PROJECT_SOURCE_DIR}/src/ipc/messages.cpp)
target_include_directories(httpapi_ipc_fuzz PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_compile_options(httpapi_ipc_fuzz PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
httpapi_fuzz_target(fuzz_ipc_frame fuzz_ipc_frame.cpp httpapi_ipc_fuzz)
httpapi_fuzz_target(fuzz_ring_record fuzz_ring_record.cpp httpapi_ipc_fuzz)
httpapi_fuzz_target(fuzz_frame_merge fuzz_frame_merge.cpp httpapi_ipc_fuzz)
