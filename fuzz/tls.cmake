# The TLS transport's input path (src/daemon/front/tls_transport.cpp over src/tls), driven with
# arbitrary client bytes. OpenSSL itself is not instrumented; our code around it is.
add_library(httpapi_tls_fuzz STATIC
            ${PROJECT_SOURCE_DIR}/src/daemon/front/tls_transport.cpp
            ${PROJECT_SOURCE_DIR}/src/daemon/policy/handshake_limit.cpp
            ${PROJECT_SOURCE_DIR}/src/tls/binding_selector.cpp
            ${PROJECT_SOURCE_DIR}/src/tls/server_contexts.cpp
            ${PROJECT_SOURCE_DIR}/src/tls/ticket_keys.cpp
            ${PROJECT_SOURCE_DIR}/tests/support/test_certificates.cpp)
target_include_directories(httpapi_tls_fuzz PUBLIC ${PROJECT_SOURCE_DIR}/src
                           ${PROJECT_SOURCE_DIR}/tests/support)
target_compile_options(httpapi_tls_fuzz PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
target_link_libraries(httpapi_tls_fuzz PUBLIC OpenSSL::SSL OpenSSL::Crypto fmt::fmt)
httpapi_fuzz_target(fuzz_tls_transport fuzz_tls_transport.cpp httpapi_tls_fuzz)
