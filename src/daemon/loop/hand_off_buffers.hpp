// Byte buffers that cross between an I/O thread and the service loop. The I/O thread encodes
// a request frame into one and the service loop gives it back here when the frame is no
// longer needed (application code saw the request, or it ended); the service loop copies a
// response part into one and the I/O thread gives it back once the part is written. So a
// busy keep-alive connection allocates no frame and no response copy per request, whichever
// thread ends a buffer's use. One per I/O worker: its lock is only ever shared by that
// thread and the service loop.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/front/buffer_pool.hpp"

namespace httpapi::daemon {

class HandOffBuffers {
 public:
  // Enough for the requests a burst keeps in flight on one I/O thread; more are freed.
  static constexpr std::size_t kKeep = 256;

  // An empty buffer, with the capacity a previous user left when there is one. Any thread.
  std::string take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return {};
    std::string buffer = std::move(free_.back());
    free_.pop_back();
    return buffer;
  }
  // A buffer its user is done with; one the connections' pool would not keep either (too
  // small, or large enough that a few would pin megabytes), or one past kKeep, is freed.
  // Any thread.
  void give(std::string buffer) {
    if (!BufferPool::pooled(buffer)) return;
    buffer.clear();
    std::lock_guard lock(mutex_);
    if (free_.size() < kKeep) free_.push_back(std::move(buffer));
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> free_;
};

}  // namespace httpapi::daemon
