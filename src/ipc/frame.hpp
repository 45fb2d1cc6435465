// Framing of the service <-> library protocol (docs/protocol.md).
//
// Every message is a frame: a 16-byte header, a fixed part whose length the header states,
// and a variable area. Variable fields are {u32 offset, u32 length} references relative to
// the start of the variable area, never pointers, so frames can later travel over shared
// memory unchanged. All integers are little-endian. Frames are batchable: a read may hold
// many of them, and a writer appends many to one buffer before one write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace httpapi::ipc {

inline constexpr std::uint32_t kMagic = 0x49504148;  // "HAPI" read as little-endian bytes
// The newest version this side speaks, and the oldest it still accepts from a peer. Version 2
// added `seen` and the request flag kRequestBacklog, version 3 `seen_counter`, version 4
// `log_data`, version 5 `frame_ring` and `wake` (docs/protocol.md).
inline constexpr std::uint16_t kProtocolVersion = 5;
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

// Appends one frame to `out`. Fixed fields are written in order; variable fields are
// appended to the variable area at finish(), so the views given to bytes() must stay valid
// until then.
class FrameWriter {
 public:
  FrameWriter(std::string& out, std::uint16_t type, std::uint64_t tag);
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  FrameWriter& u8(std::uint8_t value);
  FrameWriter& u16(std::uint16_t value);
  FrameWriter& u32(std::uint32_t value);
  FrameWriter& u64(std::uint64_t value);
  FrameWriter& raw(std::string_view fixed_bytes);  // fixed-width bytes, in place
  FrameWriter& bytes(std::string_view value);      // a variable field
  // Completes the frame. Returns false (and removes the partial frame) when it would
  // exceed kMaxFrameSize or kMaxVarRefs.
  bool finish();

 private:
  std::string& out_;
  std::size_t start_;
  struct Pending {
    std::size_t ref_at;
    std::string_view value;
  };
  Pending pending_[kMaxVarRefs];
  std::size_t pending_count_ = 0;
  bool overflow_ = false;
};

// Reads fixed fields in order and resolves variable references against the frame.
// Any read past the fixed part or any reference outside the variable area makes ok() false;
// fields then read as zero/empty, so callers check ok() once at the end.
class FrameReader {
 public:
  explicit FrameReader(const Frame& frame) : frame_(frame) {}

  std::uint8_t u8();
  std::uint16_t u16();
  std::uint32_t u32();
  std::uint64_t u64();
  std::string_view raw(std::size_t length);
  std::string_view bytes();
  bool ok() const noexcept { return ok_; }

 private:
  std::string_view take(std::size_t length);
  const Frame& frame_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace httpapi::ipc
