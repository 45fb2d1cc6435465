// What an error-log line says about the request it is for (empty before one was read).
#pragma once

#include <string>

namespace httpapi::daemon {

struct RequestLog {
  std::string method;
  std::string uri;
  int version_major = 1;
  int version_minor = 1;
  std::string queue;  // when the queue answered for it

  void clear() {
    method.clear();
    uri.clear();
    queue.clear();
  }
};

}  // namespace httpapi::daemon
