# libFuzzer targets for src/http1. The library itself is built with coverage
# instrumentation here so the fuzzer sees into the parser, not only into the harness, and
# every sanitizer report aborts (libFuzzer then saves the input).
target_compile_options(httpapi_http1 PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                             -fno-sanitize-recover=all)
foreach(target fuzz_request_head fuzz_chunked fuzz_url_cooker)
  httpapi_fuzz_target(${target} ${CMAKE_CURRENT_LIST_DIR}/${target}.cpp httpapi_http1)
  target_compile_options(${target} PRIVATE -fno-sanitize-recover=all)
endforeach()
