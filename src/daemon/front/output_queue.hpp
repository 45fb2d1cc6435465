// What a connection still has to write to its client, in order: bytes in memory, and ranges
// of files whose descriptors an application passed (HTTPAPI_CHUNK_FILE), sent with
// sendfile(2) so their bytes never pass through httpapid's memory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <string>
#include <string_view>

#include "daemon/front/buffer_pool.hpp"
#include "daemon/front/transport.hpp"
#include "daemon/loop/unique_fd.hpp"

namespace httpapi::daemon {

class OutputQueue {
 public:
  // The buffer comes from `pool` and goes back to it once everything is sent (a
  // connection's queue: its I/O thread's pool); without one it is the queue's own.
  void use_pool(BufferPool& pool) noexcept { pool_ = &pool; }
  void append(std::string_view bytes) { buffer().append(bytes); }
  // Bytes appended here go out after everything queued before (a file's place is kept by
  // position), so callers may build output in place.
  std::string& append_buffer() { return buffer(); }
  void append_file(UniqueFd fd, std::uint64_t offset, std::uint64_t length);
  // Moves everything `other` still holds to the end of this queue, in order, and leaves
  // `other` empty: a later pipelined response's bytes, once it reaches the head of the line.
  void append_queue(OutputQueue& other);

  bool empty() const noexcept { return sent_ == bytes_.size() && files_.empty(); }
  // Bytes held in memory, not yet written: what backpressure is about.
  std::size_t buffered() const noexcept { return bytes_.size() - sent_; }
  std::size_t files() const noexcept { return files_.size(); }
  // Keeps a buffer of its own (one too large for the pool, while it is not released).
  bool holds_memory() const noexcept { return bytes_.capacity() > BufferPool::kInline; }
  // The size of the next piece write_some would write: memory up to the next file, or
  // what is left of that file.
  std::uint64_t next_piece() const noexcept;

  // Writes at most `max` bytes of the next piece to `transport`. Returns the count, or -1
  // with errno: EAGAIN (the transport is full), ENODATA (a file ended before its range did:
  // it shrank after the application passed it), or the transport's error. While a file is
  // queued the transport is corked, so the head and the file go out in full-sized segments;
  // it is uncorked once all is written.
  ssize_t write_some(Transport& transport, std::size_t max);

  void clear();
  // Gives back the buffer's memory when nothing is queued: an idle keep-alive connection may
  // wait minutes for its next request, and the next response allocates it again.
  void release_memory();

 private:
  struct FileRange {
    UniqueFd fd;
    std::uint64_t offset;
    std::uint64_t remaining;
    std::size_t position;  // the file goes out once bytes_ is written up to here
  };
  std::string& buffer();
  ssize_t write_piece(Transport& transport, std::size_t max);
  void compact();
  std::string bytes_;
  std::size_t sent_ = 0;
  // A list, not a deque: an empty std::deque already holds a 512-byte block (and its map),
  // which every one of thousands of idle connections would carry.
  std::list<FileRange> files_;
  bool corked_ = false;
  BufferPool* pool_ = nullptr;
};

}  // namespace httpapi::daemon
