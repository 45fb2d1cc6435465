# fuzz_url_prefix: parse_url_prefix and PrefixTable (see fuzz_url_prefix.cpp for the input
# format). The route sources are compiled again with coverage instrumentation so that
# libFuzzer can see inside them; the regular httpapi_route stays uninstrumented for the
# other targets of this build.
add_library(httpapi_route_fuzz STATIC
  ${PROJECT_SOURCE_DIR}/src/route/url_prefix.cpp
  ${PROJECT_SOURCE_DIR}/src/route/prefix_table.cpp
)
target_include_directories(httpapi_route_fuzz PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_compile_options(httpapi_route_fuzz PRIVATE -fsanitize=fuzzer-no-link,address,undefined)

httpapi_fuzz_target(fuzz_url_prefix ${CMAKE_CURRENT_LIST_DIR}/fuzz_url_prefix.cpp httpapi_route_fuzz)
# The naive reference router shared with the unit tests.
target_include_directories(fuzz_url_prefix PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit/route)
