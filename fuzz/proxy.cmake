# The PROXY header parser (src/proxy/header_parser.cpp), compiled again with coverage
# instrumentation, as src/http1's parsers are (http1.cmake).
add_library(httpapi_proxy_fuzz STATIC ${PROJECT_SOURCE_DIR}/src/proxy/header_parser.cpp)
target_include_directories(httpapi_proxy_fuzz PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_compile_options(httpapi_proxy_fuzz PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                                  -fno-sanitize-recover=all)
httpapi_fuzz_target(fuzz_proxy_header ${CMAKE_CURRENT_LIST_DIR}/fuzz_proxy_header.cpp
                    httpapi_proxy_fuzz)
target_compile_options(fuzz_proxy_header PRIVATE -fno-sanitize-recover=all)
