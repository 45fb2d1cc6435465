# The HTTP/2 session (src/daemon/front/http2_*.cpp) on a real Connection of a real Service,
# driven with arbitrary client bytes. The front end is compiled again with coverage and
# sanitizers, as objects that take the place of the plain httpapi_daemon's; the rest of the
# service comes uninstrumented from httpapi_daemon, nghttp2 from Debian.
get_target_property(HTTPAPI_DAEMON_SOURCES httpapi_daemon SOURCES)
list(FILTER HTTPAPI_DAEMON_SOURCES INCLUDE REGEX "^front/")
list(TRANSFORM HTTPAPI_DAEMON_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/src/daemon/)
add_library(httpapi_front_fuzz OBJECT ${HTTPAPI_DAEMON_SOURCES})
target_compile_options(httpapi_front_fuzz PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                                  -fno-sanitize-recover=all)
target_link_libraries(httpapi_front_fuzz PUBLIC httpapi_daemon)
httpapi_fuzz_target(fuzz_http2_session fuzz_http2_session.cpp httpapi_front_fuzz httpapi_daemon)
target_compile_options(fuzz_http2_session PRIVATE -fno-sanitize-recover=all)
