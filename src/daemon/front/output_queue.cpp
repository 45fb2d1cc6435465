#include "daemon/front/output_queue.hpp"

#include <algorithm>
#include <cerrno>
#include <utility>

namespace httpapi::daemon {
namespace {

// Memory already written is dropped once it is this large and more than half the buffer,
// so a long response does not grow the buffer without bound.
constexpr std::size_t kCompactAt = 256 * 1024;

}  // namespace

std::string& OutputQueue::buffer() {
  if (pool_ && bytes_.empty() && bytes_.capacity() <= BufferPool::kInline) bytes_ = pool_->take();
  return bytes_;
}

void OutputQueue::append_file(UniqueFd fd, std::uint64_t offset, std::uint64_t length) {
  if (length == 0) return;
  files_.push_back({std::move(fd), offset, length, bytes_.size()});
}

void OutputQueue::append_queue(OutputQueue& other) {
  const std::size_t base = bytes_.size();
  for (FileRange& file : other.files_) file.position = base + (file.position - other.sent_);
  buffer().append(other.bytes_, other.sent_);
  files_.splice(files_.end(), other.files_);
  other.clear();
}

std::uint64_t OutputQueue::next_piece() const noexcept {
  if (files_.empty()) return bytes_.size() - sent_;
  if (sent_ == files_.front().position) return files_.front().remaining;
  return files_.front().position - sent_;
}

ssize_t OutputQueue::write_some(Transport& transport, std::size_t max) {
  if (!corked_ && !files_.empty()) {
    transport.set_cork(true);
    corked_ = true;
  }
  const ssize_t n = write_piece(transport, max);
  if (corked_ && empty()) {
    transport.set_cork(false);  // sends the last, partial segment now
    corked_ = false;
  }
  return n;
}

ssize_t OutputQueue::write_piece(Transport& transport, std::size_t max) {
  const std::size_t length = static_cast<std::size_t>(std::min<std::uint64_t>(next_piece(), max));
  if (length == 0) return 0;
  if (!files_.empty() && sent_ == files_.front().position) {
    FileRange& file = files_.front();
    const ssize_t n = transport.send_file(file.fd.get(), file.offset, length);
    if (n == 0) {
      errno = ENODATA;
      return -1;
    }
    if (n > 0) {
      file.remaining -= static_cast<std::uint64_t>(n);
      if (file.remaining == 0) files_.pop_front();
    }
    return n;
  }
  const ssize_t n = transport.write(bytes_.data() + sent_, length);
  if (n > 0) {
    sent_ += static_cast<std::size_t>(n);
    compact();
  }
  return n;
}

void OutputQueue::compact() {
  if (sent_ == bytes_.size() && files_.empty()) {
    if (pool_ && BufferPool::pooled(bytes_)) {
      pool_->give(std::exchange(bytes_, {}));
    } else {
      bytes_.clear();
    }
    sent_ = 0;
  } else if (sent_ > kCompactAt && sent_ * 2 > bytes_.size()) {
    bytes_.erase(0, sent_);
    for (FileRange& file : files_) file.position -= sent_;
    sent_ = 0;
  }
}

void OutputQueue::clear() {
  bytes_.clear();
  sent_ = 0;
  files_.clear();
}

void OutputQueue::release_memory() {
  if (!empty()) return;
  std::string().swap(bytes_);  // (clear() and shrink_to_fit() may keep the capacity)
  sent_ = 0;
}

}  // namespace httpapi::daemon
