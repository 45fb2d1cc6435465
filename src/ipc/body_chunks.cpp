#include "ipc/body_chunks.hpp"

namespace httpapi::ipc {
namespace {

void append_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t load_le(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    value |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  }
  return value;
}

}  // namespace

void begin_chunk_list(std::string& list, std::uint64_t call) { append_le(list, call, 8); }

void append_memory_chunk(std::string& list, std::string_view bytes) {
  list.push_back(static_cast<char>(ChunkKind::memory));
  append_le(list, bytes.size(), 4);
  list.append(bytes);
}

void append_file_chunk(std::string& list, std::uint64_t offset, std::uint64_t length) {
  list.push_back(static_cast<char>(ChunkKind::file));
  append_le(list, offset, 8);
  append_le(list, length, 8);
}

void append_fragment_chunk(std::string& list, std::string_view name, std::uint64_t offset,
                           std::uint64_t length) {
  list.push_back(static_cast<char>(ChunkKind::fragment));
  append_le(list, offset, 8);
  append_le(list, length, 8);
  append_le(list, name.size(), 2);
  list.append(name);
}

ChunkListReader::ChunkListReader(std::string_view list) : rest_(list) {
  std::string_view call;
  if (take(8, call)) call_ = load_le(call);
}

bool ChunkListReader::take(std::size_t n, std::string_view& out) {
  if (rest_.size() < n) {
    ok_ = false;
    return false;
  }
  out = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return true;
}

bool ChunkListReader::next(BodyChunk& chunk) {
  if (!ok_ || rest_.empty()) return false;
  std::string_view kind, a, b, c;
  if (!take(1, kind)) return false;
  switch (static_cast<ChunkKind>(kind[0])) {
    case ChunkKind::memory:
      if (!take(4, a) || !take(load_le(a), chunk.data)) return false;
      chunk = {ChunkKind::memory, chunk.data, 0, chunk.data.size()};
      return true;
    case ChunkKind::file:
      if (!take(8, a) || !take(8, b)) return false;
      chunk = {ChunkKind::file, {}, load_le(a), load_le(b)};
      return true;
    case ChunkKind::fragment:
      if (!take(8, a) || !take(8, b) || !take(2, c) || !take(load_le(c), chunk.data)) {
        return false;
      }
      chunk = {ChunkKind::fragment, chunk.data, load_le(a), load_le(b)};
      return true;
  }
  ok_ = false;
  return false;
}

bool count_chunks(std::string_view list, ChunkCounts& counts) {
  ChunkListReader reader(list);
  BodyChunk chunk;
  counts = {};
  while (reader.next(chunk)) {
    switch (chunk.kind) {
      case ChunkKind::memory: ++counts.memory; break;
      case ChunkKind::file: ++counts.files; break;
      case ChunkKind::fragment: ++counts.fragments; break;
    }
  }
  return reader.ok();
}

}  // namespace httpapi::ipc
