// The byte buffers of one I/O thread that no connection is using: a connection takes one
// to read a request into or to render a response in, and gives it back as soon as it is
// empty again (all consumed, all sent). A busy keep-alive connection then allocates nothing
// per request, and an idle one holds no buffer at all. Giving them back at once, not a
// second later, matters for memory too: buffers freed a second after a burst lie between
// the connections allocated in it, and malloc keeps those pages (bench/idle.sh).
// I/O thread only.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace httpapi::daemon {

class BufferPool {
 public:
  // What a std::string holds without a heap block.
  static constexpr std::size_t kInline = 15;
  // Larger buffers (a big response, a long pipeline) are not pooled: their user keeps one
  // until it goes idle, rather than freeing and growing it again for every megabyte.
  static constexpr std::size_t kLargest = 64 * 1024;
  static bool pooled(const std::string& buffer) noexcept {
    return buffer.capacity() > kInline && buffer.capacity() <= kLargest;
  }

  // An empty buffer, with the capacity a previous user left when there is one.
  std::string take() {
    if (free_.empty()) return {};
    std::string buffer = std::move(free_.back());
    free_.pop_back();
    return buffer;
  }
  // `buffer` was emptied by its user; one that is not pooled() is freed.
  void give(std::string&& buffer) {
    if (!pooled(buffer)) {
      std::string().swap(buffer);
      return;
    }
    buffer.clear();
    free_.push_back(std::move(buffer));
  }
  // Once a second: keeps what a busy second needed at most.
  void trim(std::size_t keep) {
    if (free_.size() > keep) free_.resize(keep);
  }

 private:
  std::vector<std::string> free_;
};

}  // namespace httpapi::daemon
