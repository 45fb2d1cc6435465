#include "ipc/frame_ring.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "test_fd.hpp"

namespace httpapi::ipc {
namespace {

using testing::Fd;

struct Record {
  std::uint64_t stamp;
  std::string frames;
};

// Every record in `bytes`; fails the test on a malformed one or a partial tail.
std::vector<Record> records(std::string_view bytes) {
  std::vector<Record> out;
  while (!bytes.empty()) {
    std::uint64_t stamp = 0;
    std::string_view frames;
    std::size_t consumed = 0;
    const RingRecordStatus status = next_ring_record(bytes, stamp, frames, consumed);
    EXPECT_EQ(status, RingRecordStatus::complete);
    if (status != RingRecordStatus::complete) break;
    out.push_back({stamp, std::string(frames)});
    bytes.remove_prefix(consumed);
  }
  return out;
}

struct Pair {
  Fd fd;
  FrameRing library;
  FrameRing service;
  Pair() {
    std::string why;
    library = FrameRing::create(fd.fd, why);
    EXPECT_TRUE(library.valid()) << why;
    service = FrameRing::attach(fd.fd, why);
    EXPECT_TRUE(service.valid()) << why;
  }
};

TEST(FrameRing, TheServiceReadsRecordsInOrderWithTheirStamps) {
  Pair ring;
  ASSERT_TRUE(ring.library.push(0, "first", ""));
  ASSERT_TRUE(ring.library.push(40, "sec", "ond"));
  std::string out;
  ASSERT_TRUE(ring.service.drain(out));
  const auto got = records(out);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].stamp, 0u);
  EXPECT_EQ(got[0].frames, "first");
  EXPECT_EQ(got[1].stamp, 40u);
  EXPECT_EQ(got[1].frames, "second");
  out.clear();
  ASSERT_TRUE(ring.service.drain(out));
  EXPECT_TRUE(out.empty());
}

TEST(FrameRing, EmptyViewsWithoutAnAddressMakeAnEmptyRecord) {
  Pair ring;
  ASSERT_TRUE(ring.library.push(3, std::string_view{}, std::string_view{}));
  ASSERT_TRUE(ring.library.push(4, "x", std::string_view{}));
  std::string out;
  ASSERT_TRUE(ring.service.drain(out));
  const auto got = records(out);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].frames, "");
  EXPECT_EQ(got[1].frames, "x");
}

TEST(FrameRing, RecordsWrapAroundTheEndIntact) {
  Pair ring;
  const std::string big(kRingCapacity / 3, 'x');
  std::string pattern;
  for (int i = 0; i < 5000; ++i) pattern += static_cast<char>('a' + i % 26);
  std::string out;
  // Many passes over the end of the buffer, at a different offset each time.
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(ring.library.push(round, big, pattern));
    ASSERT_TRUE(ring.library.push(round, pattern, ""));
    out.clear();
    ASSERT_TRUE(ring.service.drain(out));
    const auto got = records(out);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].frames, big + pattern);
    EXPECT_EQ(got[1].frames, pattern);
    EXPECT_EQ(got[1].stamp, static_cast<std::uint64_t>(round));
  }
}

TEST(FrameRing, AFullRingRefusesAndTakesAgainOnceRead) {
  Pair ring;
  const std::string piece(1000, 'p');
  int pushed = 0;
  while (ring.library.push(pushed, piece, "")) ++pushed;
  EXPECT_EQ(pushed, static_cast<int>(kRingCapacity / (kRingRecordHeader + piece.size())));
  EXPECT_FALSE(ring.library.push(0, "", "")) << "not even a header fits";
  std::string out;
  ASSERT_TRUE(ring.service.drain(out));
  EXPECT_EQ(records(out).size(), static_cast<std::size_t>(pushed));
  EXPECT_TRUE(ring.library.push(0, std::string(kRingCapacity - kRingRecordHeader, 'z'), ""));
  EXPECT_FALSE(ring.library.push(0, "", ""));
}

TEST(FrameRing, AWakeIsAskedForOnlyAfterTheServiceArmed) {
  Pair ring;
  ASSERT_TRUE(ring.library.push(0, "a", ""));
  EXPECT_FALSE(ring.library.take_wake_request()) << "the service never said it sleeps";
  std::string out;
  ASSERT_TRUE(ring.service.drain(out));
  EXPECT_FALSE(ring.service.arm_wake()) << "nothing came in between";
  ASSERT_TRUE(ring.library.push(0, "b", ""));
  EXPECT_TRUE(ring.library.take_wake_request());
  ASSERT_TRUE(ring.library.push(0, "c", ""));
  EXPECT_FALSE(ring.library.take_wake_request()) << "one wake-up per sleep";
  EXPECT_TRUE(ring.service.arm_wake()) << "b and c are waiting";
}

TEST(FrameRing, ADisarmedRingAsksForNoWake) {
  Pair ring;
  ring.service.arm_wake();
  ring.service.disarm_wake();
  ASSERT_TRUE(ring.library.push(0, "a", ""));
  EXPECT_FALSE(ring.library.take_wake_request());
  EXPECT_TRUE(ring.service.arm_wake()) << "a is waiting";
  ASSERT_TRUE(ring.library.push(0, "b", ""));
  EXPECT_TRUE(ring.library.take_wake_request()) << "armed again";
}

TEST(FrameRing, ImpossibleIndexesBreakTheRing) {
  Pair ring;
  // A peer that scribbles on the control page: head far beyond what the ring can hold.
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ring.fd.fd, 0);
  ASSERT_NE(page, MAP_FAILED);
  *static_cast<std::uint64_t*>(page) = kRingCapacity + 1;
  std::string out;
  EXPECT_FALSE(ring.service.drain(out));
  EXPECT_TRUE(out.empty());
  ::munmap(page, 4096);
}

TEST(FrameRing, AnImpossibleTailStopsTheLibraryWriting) {
  Pair ring;
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ring.fd.fd, 0);
  ASSERT_NE(page, MAP_FAILED);
  static_cast<std::uint64_t*>(page)[8] = 1;  // tail (at 64) beyond head (0)
  EXPECT_FALSE(ring.library.push(0, std::string(kRingCapacity * 2, 'x'), ""));
  EXPECT_FALSE(ring.library.push(0, "small", ""));
  ::munmap(page, 4096);
}

TEST(FrameRing, AttachRefusesWhatIsNotASealedRing) {
  Fd plain;
  plain.fd = ::memfd_create("not-a-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_GE(plain.fd, 0);
  ASSERT_EQ(::ftruncate(plain.fd, 4096 + kRingCapacity), 0);
  std::string why;
  EXPECT_FALSE(FrameRing::attach(plain.fd, why).valid());
  EXPECT_NE(why.find("sealed"), std::string::npos) << why;
  ASSERT_EQ(::fcntl(plain.fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  EXPECT_TRUE(FrameRing::attach(plain.fd, why).valid()) << why;

  Fd small;
  small.fd = ::memfd_create("small", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_EQ(::ftruncate(small.fd, 4096), 0);
  ASSERT_EQ(::fcntl(small.fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  EXPECT_FALSE(FrameRing::attach(small.fd, why).valid());
  EXPECT_NE(why.find("is not 135168 bytes"), std::string::npos) << why;
}

TEST(FrameRing, RecordsPushedBeforeTheLibraryDiedAreStillRead) {
  Pair ring;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ring.library.push(7, "last words", "");
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  std::string out;
  ASSERT_TRUE(ring.service.drain(out));
  const auto got = records(out);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].frames, "last words");
}

TEST(FrameRing, AConcurrentProducerLosesNothing) {
  Pair ring;
  constexpr int kRecords = 20000;
  std::thread producer([&] {
    for (int i = 0; i < kRecords;) {
      const std::string body = std::to_string(i);
      if (ring.library.push(i, body, "")) {
        ++i;
      } else {
        std::this_thread::yield();
      }
    }
  });
  int next = 0;
  std::string pending;
  while (next < kRecords) {
    ASSERT_TRUE(ring.service.drain(pending));
    for (const Record& r : records(pending)) {
      ASSERT_EQ(r.stamp, static_cast<std::uint64_t>(next));
      ASSERT_EQ(r.frames, std::to_string(next));
      ++next;
    }
    pending.clear();
  }
  producer.join();
}

TEST(RingRecord, SplitsAtEveryByteAndRefusesImpossibleLengths) {
  Pair ring;
  ASSERT_TRUE(ring.library.push(9, "abc", "def"));
  std::string bytes;
  ASSERT_TRUE(ring.service.drain(bytes));
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    std::uint64_t stamp;
    std::string_view frames;
    std::size_t consumed;
    EXPECT_EQ(next_ring_record(std::string_view(bytes).substr(0, cut), stamp, frames, consumed),
              RingRecordStatus::incomplete)
        << cut;
  }
  std::string bad = bytes;
  bad[11] = 0x7f;  // length's top byte: more than a ring holds
  std::uint64_t stamp;
  std::string_view frames;
  std::size_t consumed;
  EXPECT_EQ(next_ring_record(bad, stamp, frames, consumed), RingRecordStatus::malformed);
  bad = bytes;
  bad[12] = 1;  // the reserved word
  EXPECT_EQ(next_ring_record(bad, stamp, frames, consumed), RingRecordStatus::malformed);
}

}  // namespace
}  // namespace httpapi::ipc
