#include "ipc/frame.hpp"

#include <cstring>

namespace httpapi::ipc {
namespace {

template <typename T>
T load_le(const char* p) noexcept {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    value = static_cast<T>(value | static_cast<T>(static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i)));
  }
  return value;
}

template <typename T>
void store_le(char* p, T value) noexcept {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    p[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  }
}

template <typename T>
void append_le(std::string& out, T value) {
  char buf[sizeof(T)];
  store_le(buf, value);
  out.append(buf, sizeof(T));
}

}  // namespace

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

FrameWriter::FrameWriter(std::string& out, std::uint16_t type, std::uint64_t tag)
    : out_(out), start_(out.size()) {
  append_le<std::uint32_t>(out_, 0);  // size, patched by finish()
  append_le<std::uint16_t>(out_, type);
  append_le<std::uint16_t>(out_, 0);  // fixed length, patched by finish()
  append_le<std::uint64_t>(out_, tag);
}

FrameWriter& FrameWriter::u8(std::uint8_t value) {
  out_.push_back(static_cast<char>(value));
  return *this;
}
FrameWriter& FrameWriter::u16(std::uint16_t value) {
  append_le(out_, value);
  return *this;
}
FrameWriter& FrameWriter::u32(std::uint32_t value) {
  append_le(out_, value);
  return *this;
}
FrameWriter& FrameWriter::u64(std::uint64_t value) {
  append_le(out_, value);
  return *this;
}
FrameWriter& FrameWriter::raw(std::string_view fixed_bytes) {
  out_.append(fixed_bytes);
  return *this;
}

FrameWriter& FrameWriter::bytes(std::string_view value) {
  if (pending_count_ == kMaxVarRefs) {
    overflow_ = true;
    return *this;
  }
  pending_[pending_count_++] = Pending{out_.size() - start_, value};
  append_le<std::uint64_t>(out_, 0);  // {offset, length}, patched by finish()
  return *this;
}

bool FrameWriter::finish() {
  const std::size_t fixed_length = out_.size() - start_ - kHeaderSize;
  std::size_t total = out_.size() - start_;
  for (std::size_t i = 0; i < pending_count_; ++i) total += pending_[i].value.size();
  if (overflow_ || total > kMaxFrameSize || fixed_length > UINT16_MAX) {
    out_.resize(start_);
    return false;
  }
  const std::size_t variable_start = out_.size();
  for (std::size_t i = 0; i < pending_count_; ++i) {
    const std::size_t offset = out_.size() - variable_start;
    out_.append(pending_[i].value);
    char* ref = out_.data() + start_ + pending_[i].ref_at;
    store_le(ref, static_cast<std::uint32_t>(offset));
    store_le(ref + 4, static_cast<std::uint32_t>(pending_[i].value.size()));
  }
  store_le(out_.data() + start_, static_cast<std::uint32_t>(total));
  store_le(out_.data() + start_ + 6, static_cast<std::uint16_t>(fixed_length));
  return true;
}

std::string_view FrameReader::take(std::size_t length) {
  if (!ok_ || frame_.fixed.size() - at_ < length) {
    ok_ = false;
    return {};
  }
  std::string_view field = frame_.fixed.substr(at_, length);
  at_ += length;
  return field;
}

std::uint8_t FrameReader::u8() {
  auto field = take(1);
  return field.empty() ? 0 : static_cast<std::uint8_t>(field[0]);
}
std::uint16_t FrameReader::u16() {
  auto field = take(2);
  return field.empty() ? 0 : load_le<std::uint16_t>(field.data());
}
std::uint32_t FrameReader::u32() {
  auto field = take(4);
  return field.empty() ? 0 : load_le<std::uint32_t>(field.data());
}
std::uint64_t FrameReader::u64() {
  auto field = take(8);
  return field.empty() ? 0 : load_le<std::uint64_t>(field.data());
}
std::string_view FrameReader::raw(std::size_t length) { return take(length); }

std::string_view FrameReader::bytes() {
  auto ref = take(8);
  if (ref.empty()) return {};
  const std::uint32_t offset = load_le<std::uint32_t>(ref.data());
  const std::uint32_t length = load_le<std::uint32_t>(ref.data() + 4);
  if (offset > frame_.variable.size() || length > frame_.variable.size() - offset) {
    ok_ = false;
    return {};
  }
  return frame_.variable.substr(offset, length);
}

}  // namespace httpapi::ipc
