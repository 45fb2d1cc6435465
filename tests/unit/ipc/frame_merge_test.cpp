#include "ipc/frame_merge.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ipc/frame_ring.hpp"
#include "ipc/messages.hpp"

namespace httpapi::ipc {
namespace {

// A frame that says which it is: a Result whose call is `n`.
std::string numbered(std::uint64_t n) {
  std::string out;
  encode(out, Result{n, 0, 0, {}});
  return out;
}

std::string record(std::uint64_t stamp, const std::string& frames, std::uint32_t reserved = 0) {
  std::string out(kRingRecordHeader, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(stamp >> (8 * i));
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<char>(frames.size() >> (8 * i));
  for (int i = 0; i < 4; ++i) out[12 + i] = static_cast<char>(reserved >> (8 * i));
  return out + frames;
}

// What a writer produced: its socket bytes and its ring records, each record stamped with
// the socket bytes written before it, and the frame numbers in the order written.
struct Written {
  std::string socket;
  std::vector<std::string> records;
  std::vector<std::uint64_t> stamps;
  std::vector<std::uint64_t> order;
  std::uint64_t next = 1;

  void to_socket(int frames) {
    for (int i = 0; i < frames; ++i) {
      socket += numbered(next);
      order.push_back(next++);
    }
  }
  void to_ring(int frames) {
    std::string bytes;
    for (int i = 0; i < frames; ++i) {
      bytes += numbered(next);
      order.push_back(next++);
    }
    stamps.push_back(socket.size());
    records.push_back(record(socket.size(), bytes));
  }
};

Written mixed() {
  Written w;
  w.to_socket(1);
  w.to_ring(2);
  w.to_socket(2);
  w.to_ring(1);
  w.to_ring(0);  // an empty record is skipped
  w.to_ring(3);
  w.to_socket(1);
  w.to_ring(1);
  w.to_ring(0);  // and one the reader may hold last, with a socket frame after it
  w.to_socket(1);
  return w;
}

// A reader that holds `socket` bytes and `records` records, takes every frame it can, and
// is then given more.
struct Reader {
  FrameMerge merge;
  std::string socket, ring;
  std::size_t socket_at = 0, ring_at = 0;
  std::vector<std::uint64_t> got;
  std::vector<bool> from_ring;

  // Takes frames until one cannot be taken; returns that last step.
  FrameMerge::Step take_all() {
    for (;;) {
      Frame frame;
      const FrameMerge::Step step = merge.next(std::string_view(socket).substr(socket_at),
                                               std::string_view(ring).substr(ring_at), frame);
      socket_at += step.socket_used;
      ring_at += step.ring_used;
      if (step.status != FrameMerge::Status::frame) return step;
      Result result;
      EXPECT_TRUE(decode(frame, result));
      got.push_back(result.call);
      from_ring.push_back(step.from_ring);
    }
  }
};

TEST(FrameMerge, TakesSocketFramesAndRecordsInTheOrderWritten) {
  const Written w = mixed();
  Reader r;
  r.socket = w.socket;
  for (const auto& rec : w.records) r.ring += rec;
  EXPECT_EQ(r.take_all().status, FrameMerge::Status::incomplete);
  EXPECT_EQ(r.got, w.order);
  EXPECT_EQ(r.from_ring, (std::vector<bool>{false, true, true, false, false, true, true, true,
                                            true, false, true, false}));
  EXPECT_EQ(r.socket_at, w.socket.size());
  EXPECT_EQ(r.ring_at, r.ring.size());
  EXPECT_EQ(r.merge.socket_taken(), w.socket.size());
}

// The reader's promise (it reads the socket, then drains the ring): it holds every record
// pushed before the socket bytes it holds, and perhaps later ones. At every split of the
// socket bytes, with every number of records that promise allows, what it can take first
// and what it takes once it has everything come out in the written order.
TEST(FrameMerge, EverySplitPointKeepsTheOrder) {
  const Written w = mixed();
  for (std::size_t split = 0; split <= w.socket.size(); ++split) {
    std::size_t least = 0;
    while (least < w.stamps.size() && w.stamps[least] < split) ++least;
    for (std::size_t held = least; held <= w.records.size(); ++held) {
      Reader r;
      r.socket = w.socket.substr(0, split);
      for (std::size_t i = 0; i < held; ++i) r.ring += w.records[i];
      ASSERT_EQ(r.take_all().status, FrameMerge::Status::incomplete) << split << " " << held;
      r.socket = w.socket;
      for (std::size_t i = held; i < w.records.size(); ++i) r.ring += w.records[i];
      ASSERT_EQ(r.take_all().status, FrameMerge::Status::incomplete) << split << " " << held;
      ASSERT_EQ(r.got, w.order) << split << " " << held;
    }
  }
}

TEST(FrameMerge, SocketBytesOneByOne) {
  const Written w = mixed();
  Reader r;
  for (const auto& rec : w.records) r.ring += rec;
  for (char byte : w.socket) {
    r.socket += byte;
    ASSERT_EQ(r.take_all().status, FrameMerge::Status::incomplete);
  }
  EXPECT_EQ(r.got, w.order);
}

TEST(FrameMerge, AFrameTakenFromARecordLeavesTheRestOfItFirst) {
  Written w;
  w.to_ring(3);
  w.to_socket(1);
  Reader r;
  r.socket = w.socket;
  r.ring = w.records[0];
  Frame frame;
  const FrameMerge::Step first = r.merge.next(r.socket, r.ring, frame);
  EXPECT_EQ(first.status, FrameMerge::Status::frame);
  EXPECT_EQ(first.ring_used, kRingRecordHeader + numbered(1).size());
  EXPECT_TRUE(r.merge.inside_record());
  r.ring_at = first.ring_used;
  EXPECT_EQ(r.take_all().status, FrameMerge::Status::incomplete);
  EXPECT_EQ(r.got, (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_FALSE(r.merge.inside_record());
}

FrameMerge::Step first_failure(const std::string& socket, const std::string& ring) {
  Reader r;
  r.socket = socket;
  r.ring = ring;
  return r.take_all();
}

TEST(FrameMerge, AWriterThatBreaksTheRulesIsToldWhy) {
  const std::string one = numbered(1), two = numbered(2);
  const struct {
    std::string socket, ring, why;
  } cases[] = {
      {one, record(0, two), ""},  // fine: the record goes first
      {one + two, record(one.size() + 3, numbered(3)), "a ring record stamped inside a frame"},
      {one, record(one.size(), two.substr(0, 20)), "a ring record that does not hold whole frames"},
      {one, record(one.size(), two, 1), "malformed ring record"},
      {std::string("\x04\0\0\0", 4) + one, "", "malformed frame"},
  };
  for (const auto& c : cases) {
    const FrameMerge::Step step = first_failure(c.socket, c.ring);
    if (c.why.empty()) {
      EXPECT_EQ(step.status, FrameMerge::Status::incomplete);
    } else {
      EXPECT_EQ(step.status, FrameMerge::Status::malformed) << c.why;
      EXPECT_EQ(std::string(step.why ? step.why : ""), c.why);
    }
  }
  // Stamped before frames already taken: the socket frame went, then a record claims to
  // come before it.
  FrameMerge merge;
  Frame frame;
  EXPECT_EQ(merge.next(one, "", frame).status, FrameMerge::Status::frame);
  const FrameMerge::Step late = merge.next("", record(0, two), frame);
  EXPECT_EQ(late.status, FrameMerge::Status::malformed);
  EXPECT_STREQ(late.why, "a ring record stamped before frames already taken");
}

TEST(FrameMerge, AnOversizedSocketFrameIsRefused) {
  std::string header(kHeaderSize, '\0');
  const std::uint32_t size = static_cast<std::uint32_t>(kMaxFrameSize + 1);
  for (int i = 0; i < 4; ++i) header[i] = static_cast<char>(size >> (8 * i));
  const FrameMerge::Step step = first_failure(header, "");
  EXPECT_EQ(step.status, FrameMerge::Status::malformed);
  EXPECT_STREQ(step.why, "oversized message");
}

}  // namespace
}  // namespace httpapi::ipc
