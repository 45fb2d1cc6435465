// The SendStates of one I/O thread that no connection is using: a connection with output
// to write takes one, and gives it back as soon as everything is written. I/O thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "daemon/front/buffer_pool.hpp"
#include "daemon/front/send_state.hpp"

namespace httpapi::daemon {

class SendStatePool {
 public:
  // The queues' buffers come from, and go back to, `buffers` (declared before this pool).
  explicit SendStatePool(BufferPool& buffers) noexcept : buffers_(buffers) {}

  std::unique_ptr<SendState> take() {
    if (free_.empty()) {
      auto state = std::make_unique<SendState>();
      state->queue.use_pool(buffers_);
      return state;
    }
    std::unique_ptr<SendState> state = std::move(free_.back());
    free_.pop_back();
    return state;
  }
  // What is still queued is dropped (a connection closed with output unwritten), and a
  // buffer larger than the BufferPool takes is freed.
  void give(std::unique_ptr<SendState> state) {
    state->queue.clear();
    state->queue.release_memory();
    state->send_rate = MinSendRate{};
    free_.push_back(std::move(state));
  }
  // Once a second: keeps what a busy second needed at most.
  void trim(std::size_t keep) {
    if (free_.size() > keep) free_.resize(keep);
  }

 private:
  BufferPool& buffers_;
  std::vector<std::unique_ptr<SendState>> free_;
};

}  // namespace httpapi::daemon
