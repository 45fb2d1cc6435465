// A response body given as chunks (httpapi_data_chunk): the variable body field of a
// send_response or send_body frame whose flags carry kBodyIsChunkList (docs/protocol.md).
//
//   u64 call           non-zero: the library waits for a Result (the send names fragments)
//   then per chunk:
//     u8 kind = 0      memory:   u32 length, the bytes
//     u8 kind = 1      file:     u64 offset, u64 length; its descriptor is the next one
//                                that arrived on the connection (SCM_RIGHTS)
//     u8 kind = 2      fragment: u64 offset, u64 length (UINT64_MAX: to its end),
//                                u16 name length, the name
//
// Pure: the writer appends to a string, the reader returns views into the list.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace httpapi::ipc {

// In the flags of send_response / send_body: the body field is a chunk list. Never a
// public HTTPAPI_SEND_FLAG_* bit.
inline constexpr std::uint32_t kBodyIsChunkList = 0x80000000u;

enum class ChunkKind : std::uint8_t { memory = 0, file = 1, fragment = 2 };

struct BodyChunk {
  ChunkKind kind = ChunkKind::memory;
  std::string_view data;  // memory: the bytes; fragment: the name
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // memory: data.size()
};

void begin_chunk_list(std::string& list, std::uint64_t call);
void append_memory_chunk(std::string& list, std::string_view bytes);
void append_file_chunk(std::string& list, std::uint64_t offset, std::uint64_t length);
void append_fragment_chunk(std::string& list, std::string_view name, std::uint64_t offset,
                           std::uint64_t length);

class ChunkListReader {
 public:
  // ok() is false at once when the list is too short for its call field.
  explicit ChunkListReader(std::string_view list);
  std::uint64_t call() const noexcept { return call_; }
  // The next chunk; false at the end or on malformed input (then ok() is false).
  bool next(BodyChunk& chunk);
  bool ok() const noexcept { return ok_; }

 private:
  bool take(std::size_t n, std::string_view& out);
  std::string_view rest_;
  std::uint64_t call_ = 0;
  bool ok_ = true;
};

// Validates a whole list: counts its chunks by kind. false when malformed.
struct ChunkCounts {
  std::size_t memory = 0, files = 0, fragments = 0;
};
bool count_chunks(std::string_view list, ChunkCounts& counts);

}  // namespace httpapi::ipc
