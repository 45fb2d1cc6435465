// Framing of the service <-> library protocol (docs/protocol.md).
//
// Every message is a frame: a 16-byte header, a fixed part whose length the header states,
// and a variable area. Variable fields are {u32 offset, u32 length} references relative to
// the start of the variable area, never pointers, so frames can later travel over shared
// memory unchanged. All integers are little-endian. Frames are batchable: a read may hold
// many of them, and a writer appends many to one buffer before one write.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace httpapi::ipc {

inline constexpr std::uint32_t kMagic = 0x49504148;  // "HAPI" read as little-endian bytes
// The newest version this side speaks, and the oldest it still accepts from a peer. Version 2
// added `seen` and the request flag kRequestBacklog, version 3 `seen_counter`, version 4
// `log_data`, version 5 `frame_ring` and `wake`, version 6 `library_ring` (docs/protocol.md).
inline constexpr std::uint16_t kProtocolVersion = 6;
inline constexpr std::uint16_t kMinProtocolVersion = 1;
inline constexpr std::size_t kHeaderSize = 16;
// Largest frame either side accepts. A peer that announces more is disconnected.
inline constexpr std::size_t kMaxFrameSize = 17u * 1024 * 1024;
// Largest body piece the library puts in one frame; larger sends are split.
inline constexpr std::size_t kMaxBodyPiece = 1024 * 1024;
inline constexpr std::size_t kMaxVarRefs = 24;

struct Frame {
  std::uint16_t type = 0;
  std::uint64_t tag = 0;      // correlation id of a call, or the request id it concerns
  std::string_view fixed;     // the fixed part
  std::string_view variable;  // the variable area
  // The whole frame, header included, as next_frame found it: what a holder copies to keep
  // the frame past the buffer it arrived in (and parse again with next_frame).
  std::string_view encoded;
};

enum class FrameStatus : std::uint8_t { complete, incomplete, malformed, oversized };

// Splits the first frame off `input`. Pure: no I/O, no allocation; views point into input.
// On complete, `consumed` is the frame's size. malformed/oversized: the peer must be
// disconnected (the stream cannot be resynchronised).
FrameStatus next_frame(std::string_view input, Frame& frame, std::size_t& consumed) noexcept;

inline constexpr std::size_t kMaxFixedSize = 1024;  // every message's fixed part fits

namespace detail {
// The wire is little-endian. On a little-endian host (every one this builds for today) a
// field is one unaligned load or store; GCC does not merge the byte loop into one, and the
// loop was the largest single cost of decoding a request (bench/RESULTS.md).
template <typename T>
T load_le(const char* p) noexcept {
  T value = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&value, p, sizeof value);
  } else {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      value = static_cast<T>(value | static_cast<T>(static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i)));
    }
  }
  return value;
}

template <typename T>
void store_le(char* p, T value) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &value, sizeof value);
  } else {
    for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  }
}
}  // namespace detail

// Appends one frame to `out`. Fixed fields are written in order; variable fields are
// appended to the variable area at finish(), so the views given to bytes() must stay valid
// until then. The fixed part is gathered in the writer and `out` grows once, at finish():
// a frame per request is on the hot path, and a string append per field cost more than
// the rest of the encoding.
class FrameWriter {
 public:
  FrameWriter(std::string& out, std::uint16_t type, std::uint64_t tag)
      : out_(out), tag_(tag), type_(type) {}
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  FrameWriter& u8(std::uint8_t value) { return put(value); }
  FrameWriter& u16(std::uint16_t value) { return put(value); }
  FrameWriter& u32(std::uint32_t value) { return put(value); }
  FrameWriter& u64(std::uint64_t value) { return put(value); }
  // fixed-width bytes, in place
  FrameWriter& raw(std::string_view fixed_bytes) {
    if (char* at = room(fixed_bytes.size())) std::memcpy(at, fixed_bytes.data(), fixed_bytes.size());
    return *this;
  }
  // a variable field
  FrameWriter& bytes(std::string_view value) {
    if (pending_count_ == kMaxVarRefs) {
      overflow_ = true;
      return *this;
    }
    // {offset, length}: the variable area is laid out in the order of these calls.
    if (char* at = room(8)) {
      detail::store_le(at, static_cast<std::uint32_t>(variable_size_));
      detail::store_le(at + 4, static_cast<std::uint32_t>(value.size()));
    }
    pending_[pending_count_++] = {value.data(), value.size()};
    variable_size_ += value.size();  // finish() refuses a frame this makes too large
    return *this;
  }
  // Completes the frame. Returns false (and appends nothing) when it would exceed
  // kMaxFrameSize, kMaxFixedSize or kMaxVarRefs.
  bool finish();

 private:
  template <typename T>
  FrameWriter& put(T value) {
    if (char* at = room(sizeof(T))) detail::store_le(at, value);
    return *this;
  }
  char* room(std::size_t size) {
    if (kMaxFixedSize - fixed_size_ < size) {
      overflow_ = true;
      return nullptr;
    }
    char* at = fixed_ + fixed_size_;
    fixed_size_ += size;
    return at;
  }
  // The whole frame, `total` bytes, at the end of `out`, which has the room.
  void append_to(std::string& out, std::size_t total) const;

  std::string& out_;
  std::uint64_t tag_;
  std::uint16_t type_;
  bool overflow_ = false;
  std::size_t pending_count_ = 0;
  // Not string_views: their constructor would zero the whole array for every frame.
  struct Pending {
    const char* data;
    std::size_t size;
  };
  Pending pending_[kMaxVarRefs];
  std::size_t variable_size_ = 0;
  std::size_t fixed_size_ = 0;
  char fixed_[kMaxFixedSize];
};

// Reads fixed fields in order and resolves variable references against the frame.
// Any read past the fixed part or any reference outside the variable area makes ok() false;
// fields then read as zero/empty, so callers check ok() once at the end.
class FrameReader {
 public:
  explicit FrameReader(const Frame& frame) : frame_(frame) {}

  std::uint8_t u8() { return get<std::uint8_t>(); }
  std::uint16_t u16() { return get<std::uint16_t>(); }
  std::uint32_t u32() { return get<std::uint32_t>(); }
  std::uint64_t u64() { return get<std::uint64_t>(); }
  std::string_view raw(std::size_t length) { return take(length); }
  std::string_view bytes() {
    const std::string_view ref = take(8);
    if (ref.empty()) return {};
    const auto offset = detail::load_le<std::uint32_t>(ref.data());
    const auto length = detail::load_le<std::uint32_t>(ref.data() + 4);
    if (offset > frame_.variable.size() || length > frame_.variable.size() - offset) {
      ok_ = false;
      return {};
    }
    return frame_.variable.substr(offset, length);
  }
  bool ok() const noexcept { return ok_; }

 private:
  template <typename T>
  T get() {
    const std::string_view field = take(sizeof(T));
    return field.empty() ? 0 : detail::load_le<T>(field.data());
  }
  std::string_view take(std::size_t length) {
    if (!ok_ || frame_.fixed.size() - at_ < length) {
      ok_ = false;
      return {};
    }
    const std::string_view field = frame_.fixed.substr(at_, length);
    at_ += length;
    return field;
  }
  const Frame& frame_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace httpapi::ipc
