#include "ipc/frame.hpp"

#include <algorithm>
#include <cstring>

namespace httpapi::ipc {
using detail::load_le;
using detail::store_le;

// Header layout: u32 size (whole frame), u16 type, u16 fixed_length, u64 tag.
FrameStatus next_frame(std::string_view input, Frame& frame, std::size_t& consumed) noexcept {
  if (input.size() < kHeaderSize) return FrameStatus::incomplete;
  const std::uint32_t size = load_le<std::uint32_t>(input.data());
  const std::uint16_t type = load_le<std::uint16_t>(input.data() + 4);
  const std::uint16_t fixed_length = load_le<std::uint16_t>(input.data() + 6);
  if (size > kMaxFrameSize) return FrameStatus::oversized;
  if (size < kHeaderSize || fixed_length > size - kHeaderSize) return FrameStatus::malformed;
  if (input.size() < size) return FrameStatus::incomplete;
  frame.type = type;
  frame.tag = load_le<std::uint64_t>(input.data() + 8);
  frame.fixed = input.substr(kHeaderSize, fixed_length);
  frame.variable = input.substr(kHeaderSize + fixed_length, size - kHeaderSize - fixed_length);
  frame.encoded = input.substr(0, size);
  consumed = size;
  return FrameStatus::complete;
}

bool FrameWriter::finish() {
  if (overflow_ || variable_size_ > kMaxFrameSize) return false;
  const std::size_t total = kHeaderSize + fixed_size_ + variable_size_;
  if (total > kMaxFrameSize) return false;
  if (out_.capacity() - out_.size() >= total) {
    append_to(out_, total);
  } else {
    // A variable field may view `out` itself: it is copied before the old buffer goes.
    std::string grown;
    grown.reserve(std::max(out_.size() + total, 2 * out_.capacity()));
    grown.assign(out_);
    append_to(grown, total);
    out_.swap(grown);
  }
  return true;
}

void FrameWriter::append_to(std::string& out, std::size_t total) const {
  const std::size_t start = out.size();
  out.resize(start + total);
  char* at = out.data() + start;
  store_le(at, static_cast<std::uint32_t>(total));
  store_le(at + 4, type_);
  store_le(at + 6, static_cast<std::uint16_t>(fixed_size_));
  store_le(at + 8, tag_);
  std::memcpy(at + kHeaderSize, fixed_, fixed_size_);
  at += kHeaderSize + fixed_size_;
  for (std::size_t i = 0; i < pending_count_; ++i) {
    const Pending& value = pending_[i];
    if (value.size == 0) continue;  // data may be null
    std::memcpy(at, value.data, value.size);
    at += value.size;
  }
}

}  // namespace httpapi::ipc
