// Fuzzes the ipc framing and every message decoder with arbitrary peer bytes: nothing may
// crash or read outside the input, and whatever decodes must re-encode to a frame that
// decodes to the same values.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ipc/body_chunks.hpp"
#include "ipc/frame.hpp"
#include "ipc/messages.hpp"

namespace ipc = httpapi::ipc;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

template <typename M>
void decode_and_reencode(const ipc::Frame& frame) {
  M m;
  if (!ipc::decode(frame, m)) return;
  std::string again;
  if constexpr (std::is_same_v<M, ipc::UrlCall> || std::is_same_v<M, ipc::GroupCall>) {
    check(ipc::encode(again, static_cast<ipc::Type>(frame.type), m));
  } else {
    check(ipc::encode(again, m));
  }
  ipc::Frame second;
  std::size_t consumed = 0;
  check(ipc::next_frame(again, second, consumed) == ipc::FrameStatus::complete);
  M back;
  check(ipc::decode(second, back));
}

// A send's body as a chunk list: whatever reads must write back to the same bytes.
void check_chunk_list(const ipc::Frame& frame) {
  ipc::SendBody m;
  if (!ipc::decode(frame, m)) return;
  ipc::ChunkListReader reader(m.data);
  std::string again;
  ipc::begin_chunk_list(again, reader.call());
  ipc::BodyChunk chunk;
  while (reader.next(chunk)) {
    switch (chunk.kind) {
      case ipc::ChunkKind::memory: ipc::append_memory_chunk(again, chunk.data); break;
      case ipc::ChunkKind::file: ipc::append_file_chunk(again, chunk.offset, chunk.length); break;
      case ipc::ChunkKind::fragment:
        ipc::append_fragment_chunk(again, chunk.data, chunk.offset, chunk.length);
        break;
    }
  }
  ipc::ChunkCounts counts;
  check(reader.ok() == ipc::count_chunks(m.data, counts));
  if (reader.ok()) check(again == m.data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int frames = 0; frames < 64; ++frames) {
    ipc::Frame frame;
    std::size_t consumed = 0;
    if (ipc::next_frame(rest, frame, consumed) != ipc::FrameStatus::complete) break;
    check(consumed >= ipc::kHeaderSize && consumed <= rest.size());
    decode_and_reencode<ipc::Hello>(frame);
    decode_and_reencode<ipc::HelloAck>(frame);
    decode_and_reencode<ipc::Result>(frame);
    decode_and_reencode<ipc::GroupCall>(frame);
    decode_and_reencode<ipc::UrlCall>(frame);
    decode_and_reencode<ipc::BindGroup>(frame);
    decode_and_reencode<ipc::CreateQueue>(frame);
    decode_and_reencode<ipc::AdminCall>(frame);
    decode_and_reencode<ipc::Receive>(frame);
    decode_and_reencode<ipc::QueueAllow>(frame);
    decode_and_reencode<ipc::QueueProperty>(frame);
    decode_and_reencode<ipc::ReadBody>(frame);
    decode_and_reencode<ipc::SendResponse>(frame);
    decode_and_reencode<ipc::SendBody>(frame);
    decode_and_reencode<ipc::SendTrailers>(frame);
    decode_and_reencode<ipc::LogData>(frame);
    decode_and_reencode<ipc::FlushCache>(frame);
    decode_and_reencode<ipc::AddFragment>(frame);
    decode_and_reencode<ipc::ReadFragment>(frame);
    decode_and_reencode<ipc::Cancel>(frame);
    decode_and_reencode<ipc::Request>(frame);
    decode_and_reencode<ipc::Body>(frame);
    decode_and_reencode<ipc::RequestGone>(frame);
    decode_and_reencode<ipc::GroupProperty>(frame);
    decode_and_reencode<ipc::ShutdownQueue>(frame);
    decode_and_reencode<ipc::Decline>(frame);
    decode_and_reencode<ipc::QueueShutdown>(frame);
    check_chunk_list(frame);
    rest.remove_prefix(consumed);
  }
  return 0;
}
