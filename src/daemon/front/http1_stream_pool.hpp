// The Http1Streams of one I/O thread that no request is using, kept for the next request of
// any of its connections: a busy keep-alive connection allocates no stream per request, and
// an idle one holds none (bench/idle.sh). I/O thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "daemon/front/http1_stream.hpp"

namespace httpapi::daemon {

class Http1StreamPool {
 public:
  std::unique_ptr<Http1Stream> take() {
    if (free_.empty()) return std::make_unique<Http1Stream>();
    std::unique_ptr<Http1Stream> stream = std::move(free_.back());
    free_.pop_back();
    return stream;
  }
  // A stream given back may still be on the call stack (its exchange ended the response that
  // retired it): it is only reused, never destroyed, until trim().
  void give(std::unique_ptr<Http1Stream> stream) { free_.push_back(std::move(stream)); }
  // Once a second, with no request on the stack: keeps what a busy second needed at most.
  void trim(std::size_t keep) {
    if (free_.size() > keep) free_.resize(keep);
  }

 private:
  std::vector<std::unique_ptr<Http1Stream>> free_;
};

}  // namespace httpapi::daemon
