// The output queue over a real socket pair and a real file: memory and file ranges come out
// in the order queued, with the buffer compacted in between, and a file that is shorter
// than its range is reported (ENODATA), not waited for.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "daemon/front/output_queue.hpp"
#include "daemon/front/tcp_transport.hpp"

namespace d = httpapi::daemon;

namespace {

int socket_pair(int& reader) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  reader = fds[1];
  return fds[0];
}

// The queue writes through a real transport into one end; the test reads the other.
struct Pair {
  int reader = -1;
  d::TcpTransport writer{socket_pair(reader)};
  ~Pair() { ::close(reader); }
  std::string drain() {
    std::string got;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(reader, buffer, sizeof buffer)) > 0) got.append(buffer, n);
    return got;
  }
};

d::UniqueFd temp_file(const std::string& content) {
  char path[] = "/tmp/output-queue-XXXXXX";
  const int fd = ::mkstemp(path);
  ::unlink(path);
  EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  return d::UniqueFd(fd);
}

// Writes everything, reading the other end whenever the socket is full.
std::string pump(d::OutputQueue& q, Pair& pair, std::size_t max = 1 << 20) {
  std::string got;
  while (!q.empty()) {
    const ssize_t n = q.write_some(pair.writer, max);
    if (n < 0 && errno != EAGAIN) {
      ADD_FAILURE() << "write_some: " << errno;
      break;
    }
    got += pair.drain();
  }
  return got + pair.drain();
}

}  // namespace

TEST(OutputQueue, MemoryAndFilesInOrder) {
  Pair pair;
  d::OutputQueue q;
  q.append("head:");
  q.append_file(temp_file("0123456789"), 2, 5);
  q.append(":middle:");
  q.append_file(temp_file("abcdef"), 0, 6);
  q.append(":tail");
  EXPECT_EQ(q.files(), 2u);
  EXPECT_EQ(pump(q, pair, 3), "head:23456:middle:abcdef:tail");
  EXPECT_TRUE(q.empty());
}

TEST(OutputQueue, LargeBodiesCompactWithoutLosingTheFilePlace) {
  Pair pair;
  d::OutputQueue q;
  const std::string big(600 * 1024, 'm');
  const std::string file_bytes(300 * 1024, 'f');
  q.append(big);
  q.append_file(temp_file(file_bytes), 0, file_bytes.size());
  q.append("end");
  const std::string got = pump(q, pair);
  EXPECT_EQ(got, big + file_bytes + "end");
}

TEST(OutputQueue, AFileShorterThanItsRangeIsReported) {
  Pair pair;
  d::OutputQueue q;
  q.append_file(temp_file("short"), 0, 100);
  EXPECT_EQ(q.write_some(pair.writer, 1000), 5);
  EXPECT_EQ(q.write_some(pair.writer, 1000), -1);
  EXPECT_EQ(errno, ENODATA);
}

TEST(OutputQueue, EmptyFileRangesAreNotQueued) {
  d::OutputQueue q;
  q.append_file(temp_file("x"), 0, 0);
  EXPECT_TRUE(q.empty());
}

// An idle connection gives its buffer back, but never bytes still owed to the client.
TEST(OutputQueue, ReleasingMemoryKeepsWhatIsNotWrittenYet) {
  Pair pair;
  d::OutputQueue q;
  const std::string body(100 * 1024, 'b');
  q.append(body);
  EXPECT_EQ(q.write_some(pair.writer, 1000), 1000);
  q.release_memory();
  EXPECT_EQ(q.buffered(), body.size() - 1000);
  EXPECT_EQ(pump(q, pair), body);
  EXPECT_GE(q.append_buffer().capacity(), body.size());  // written, but still held
  q.release_memory();
  EXPECT_EQ(q.append_buffer().capacity(), std::string().capacity());
  q.append("next");
  EXPECT_EQ(pump(q, pair), "next");
}

// A later pipelined response waits in a queue of its own, then joins the connection's queue
// behind what is still unwritten there, files keeping their places in both.
TEST(OutputQueue, AppendingAQueueKeepsEveryPieceInOrder) {
  Pair pair;
  d::OutputQueue line;
  line.append("first:");
  line.append_file(temp_file("0123456789"), 0, 4);
  line.append(":rest-of-first|");
  EXPECT_EQ(line.write_some(pair.writer, 3), 3);  // part of the first response is written

  d::OutputQueue later;
  later.append("xx-second:");
  EXPECT_EQ(later.write_some(pair.writer, 0), 0);
  later.append_file(temp_file("abcdef"), 1, 3);
  later.append(":end");
  line.append_queue(later);
  EXPECT_TRUE(later.empty());
  EXPECT_EQ(later.files(), 0u);
  EXPECT_EQ(line.files(), 2u);
  EXPECT_EQ(pump(line, pair, 5), "first:0123:rest-of-first|xx-second:bcd:end");
}

// What a queue already wrote is not moved again.
TEST(OutputQueue, AppendingAPartlyWrittenQueueMovesOnlyTheRest) {
  Pair pair;
  d::OutputQueue line, later;
  later.append("written|unwritten");
  later.append_file(temp_file("FILE"), 0, 4);
  EXPECT_EQ(later.write_some(pair.writer, 8), 8);
  EXPECT_EQ(pair.drain(), "written|");
  line.append("head|");
  line.append_queue(later);
  EXPECT_EQ(pump(line, pair), "head|unwrittenFILE");
}
