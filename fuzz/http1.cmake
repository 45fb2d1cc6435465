# libFuzzer targets for src/http1. The parser sources are compiled again with coverage
# instrumentation so the fuzzer sees into the parser, not only into the harness, and every
# sanitizer report aborts (libFuzzer then saves the input). The regular httpapi_http1 stays
# uninstrumented for httpapid and the other targets of this build.
set(HTTPAPI_HTTP1_SOURCES errors.cpp header_id.cpp syntax.cpp request_parser.cpp
                          chunked_decoder.cpp url_cooker.cpp byte_ranges.cpp)
list(TRANSFORM HTTPAPI_HTTP1_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/src/http1/)
add_library(httpapi_http1_fuzz STATIC ${HTTPAPI_HTTP1_SOURCES})
target_include_directories(httpapi_http1_fuzz PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_compile_options(httpapi_http1_fuzz PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                                  -fno-sanitize-recover=all)
foreach(target fuzz_request_head fuzz_chunked fuzz_url_cooker fuzz_byte_ranges)
  httpapi_fuzz_target(${target} ${CMAKE_CURRENT_LIST_DIR}/${target}.cpp httpapi_http1_fuzz)
  target_compile_options(${target} PRIVATE -fno-sanitize-recover=all)
endforeach()
