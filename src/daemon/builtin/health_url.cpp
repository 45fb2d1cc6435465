#include "daemon/builtin/health_url.hpp"

#include <utility>

namespace httpapi::daemon {

BuiltinHandler health_handler(std::function<bool()> draining) {
  return [draining = std::move(draining)](const BuiltinRequest& request) {
    BuiltinAnswer answer;
    answer.fields = {{"Content-Type", "text/plain; charset=utf-8"}, {"Cache-Control", "no-store"}};
    if (request.method != "GET" && request.method != "HEAD") {
      answer.status = 405;
      answer.fields.emplace_back("Allow", "GET, HEAD");
      answer.body = "the health URL answers GET and HEAD\n";
    } else if (draining()) {
      answer.status = 503;
      answer.body = "draining\n";
    } else {
      answer.body = "serving\n";
    }
    return answer;
  };
}

}  // namespace httpapi::daemon
