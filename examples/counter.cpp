// counter.cpp: a C++ example on <httpapi/httpapi.hpp>. Counts the visits of every path
// under its prefix and streams the answer in two pieces (chunked on the wire), ending with
// the count as a trailer field.
//   httpapi-counter http://+:8080/count/
#include <cstdio>
#include <map>
#include <string>

#include <httpapi/httpapi.hpp>

int main(int argc, char** argv) {
  const std::string prefix = argc > 1 ? argv[1] : "http://+:8080/count/";
  httpapi::Runtime runtime;
  auto session = httpapi::Session::create();
  auto group = session ? session->create_url_group() : session.error();
  auto queue = httpapi::Queue::create();
  httpapi_error e = runtime.error() ? runtime.error()
                    : !session      ? session.error()
                    : !group        ? group.error()
                    : !queue        ? queue.error()
                                    : group->bind(*queue);
  if (!e) e = group->add(prefix, 0);
  if (e) {
    std::fprintf(stderr, "counter: %s: %s %s\n", httpapi_error_name(e), httpapi_strerror(e),
                 httpapi_error_detail());
    return 2;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  std::map<std::string, unsigned long, std::less<>> visits;
  for (;;) {
    auto request = httpapi::Request::receive(*queue);
    if (!request) {
      std::fprintf(stderr, "counter: %s\n", request.what());
      return 1;
    }
    const unsigned long count = ++visits[std::string(request->path())];
    httpapi_error sent = request->begin(200, {{"Content-Type", "text/plain"}});
    if (!sent) sent = request->write(std::string(request->path()) + " has been visited ");
    if (!sent) sent = request->write(std::to_string(count) + (count == 1 ? " time\n" : " times\n"));
    // The count again as a trailer field: what a stream computes while it runs goes last.
    if (!sent) sent = request->end_with_trailers({{"X-Visits", std::to_string(count)}});
    // A client that leaves mid-answer is its own business; anything else is worth a line.
    if (sent && sent != HTTPAPI_ERROR_CONNECTION_GONE) {
      std::fprintf(stderr, "counter: answer not sent: %s: %s\n", httpapi_error_name(sent),
                   httpapi_strerror(sent));
    }
  }
}
