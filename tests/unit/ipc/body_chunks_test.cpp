// The chunk-list codec of send frames (ipc/body_chunks.hpp): round trips, and every
// truncation of a valid list read as malformed, never past its end.
#include <gtest/gtest.h>

#include <string>

#include "ipc/body_chunks.hpp"

namespace ipc = httpapi::ipc;

namespace {

std::string sample() {
  std::string list;
  ipc::begin_chunk_list(list, 42);
  ipc::append_memory_chunk(list, "hello");
  ipc::append_file_chunk(list, 7, 1u << 20);
  ipc::append_fragment_chunk(list, "http://+:80/a/f", 3, UINT64_MAX);
  ipc::append_memory_chunk(list, "");
  return list;
}

}  // namespace

TEST(BodyChunks, RoundTrip) {
  const std::string list = sample();
  ipc::ChunkListReader reader(list);
  EXPECT_EQ(reader.call(), 42u);
  ipc::BodyChunk c;
  ASSERT_TRUE(reader.next(c));
  EXPECT_EQ(c.kind, ipc::ChunkKind::memory);
  EXPECT_EQ(c.data, "hello");
  EXPECT_EQ(c.length, 5u);
  ASSERT_TRUE(reader.next(c));
  EXPECT_EQ(c.kind, ipc::ChunkKind::file);
  EXPECT_EQ(c.offset, 7u);
  EXPECT_EQ(c.length, 1u << 20);
  ASSERT_TRUE(reader.next(c));
  EXPECT_EQ(c.kind, ipc::ChunkKind::fragment);
  EXPECT_EQ(c.data, "http://+:80/a/f");
  EXPECT_EQ(c.offset, 3u);
  EXPECT_EQ(c.length, UINT64_MAX);
  ASSERT_TRUE(reader.next(c));
  EXPECT_EQ(c.length, 0u);
  EXPECT_FALSE(reader.next(c));
  EXPECT_TRUE(reader.ok());
  ipc::ChunkCounts counts;
  ASSERT_TRUE(ipc::count_chunks(list, counts));
  EXPECT_EQ(counts.memory, 2u);
  EXPECT_EQ(counts.files, 1u);
  EXPECT_EQ(counts.fragments, 1u);
}

TEST(BodyChunks, EveryTruncationIsMalformedOrShorter) {
  const std::string list = sample();
  ipc::ChunkCounts whole;
  ASSERT_TRUE(ipc::count_chunks(list, whole));
  for (std::size_t cut = 0; cut < list.size(); ++cut) {
    ipc::ChunkCounts counts;
    const bool ok = ipc::count_chunks(std::string_view(list).substr(0, cut), counts);
    // A cut may fall between two chunks (a valid, shorter list) but never yields more.
    if (ok) {
      EXPECT_LE(counts.memory + counts.files + counts.fragments,
                whole.memory + whole.files + whole.fragments - 1)
          << cut;
    }
  }
}

TEST(BodyChunks, UnknownKindIsMalformed) {
  std::string list;
  ipc::begin_chunk_list(list, 0);
  list.push_back('\x07');
  ipc::ChunkCounts counts;
  EXPECT_FALSE(ipc::count_chunks(list, counts));
}

TEST(BodyChunks, MemoryLengthPastTheEndIsMalformed) {
  std::string list;
  ipc::begin_chunk_list(list, 0);
  ipc::append_memory_chunk(list, "abc");
  list.pop_back();
  ipc::ChunkCounts counts;
  EXPECT_FALSE(ipc::count_chunks(list, counts));
}
