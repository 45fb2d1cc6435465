#include "ipc/frame_ring.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "ipc/frame.hpp"

namespace httpapi::ipc {

namespace {

constexpr std::size_t kControlPage = 4096;
constexpr std::size_t kSize = kControlPage + kRingCapacity;
// Each index on its own cache line: the two sides write them from different CPUs.
constexpr std::size_t kHeadAt = 0;
constexpr std::size_t kTailAt = 64;
constexpr std::size_t kWakeAt = 128;

static_assert((kRingCapacity & (kRingCapacity - 1)) == 0, "positions wrap with a mask");
static_assert(kRingCapacity >= kMaxBodyPiece / 8, "a typical response fits");

}  // namespace

RingRecordStatus next_ring_record(std::string_view input, std::uint64_t& stamp,
                                  std::string_view& frames, std::size_t& consumed) noexcept {
  if (input.size() < kRingRecordHeader) return RingRecordStatus::incomplete;
  const std::uint32_t length = detail::load_le<std::uint32_t>(input.data() + 8);
  const std::uint32_t reserved = detail::load_le<std::uint32_t>(input.data() + 12);
  if (length > kRingCapacity - kRingRecordHeader || reserved != 0) {
    return RingRecordStatus::malformed;
  }
  if (input.size() - kRingRecordHeader < length) return RingRecordStatus::incomplete;
  stamp = detail::load_le<std::uint64_t>(input.data());
  frames = input.substr(kRingRecordHeader, length);
  consumed = kRingRecordHeader + length;
  return RingRecordStatus::complete;
}

FrameRing FrameRing::create(int& fd, std::string& why) {
  FrameRing ring;
  ring.page_ = SealedPage::create("httpapi-ring", kSize, fd, why);
  return ring;
}

FrameRing FrameRing::attach(int fd, std::string& why) {
  FrameRing ring;
  ring.page_ = SealedPage::attach(
      fd, {"the frame ring", kSize, /*exact_size=*/true, /*sealed_grow=*/true, /*writable=*/true},
      why);
  return ring;
}

std::uint64_t& FrameRing::head() const noexcept {
  return *reinterpret_cast<std::uint64_t*>(page_.base() + kHeadAt);
}
std::uint64_t& FrameRing::tail() const noexcept {
  return *reinterpret_cast<std::uint64_t*>(page_.base() + kTailAt);
}
std::uint32_t& FrameRing::wake() const noexcept {
  return *reinterpret_cast<std::uint32_t*>(page_.base() + kWakeAt);
}
unsigned char* FrameRing::data() const noexcept { return page_.base() + kControlPage; }

bool FrameRing::push(std::uint64_t stamp, std::string_view first,
                     std::string_view second) noexcept {
  const std::size_t length = first.size() + second.size();
  const std::size_t record = kRingRecordHeader + length;
  const std::uint64_t at = std::atomic_ref(head()).load(std::memory_order_relaxed);
  const std::uint64_t read = std::atomic_ref(tail()).load(std::memory_order_acquire);
  // The tail is the service's to write; never trust it past the ring's size.
  const std::uint64_t used = at - read;
  if (used > kRingCapacity || record > kRingCapacity - used) return false;
  char header[kRingRecordHeader] = {};
  detail::store_le<std::uint64_t>(header, stamp);
  detail::store_le<std::uint32_t>(header + 8, static_cast<std::uint32_t>(length));
  std::uint64_t position = at;
  auto put = [&](const void* bytes, std::size_t size) {
    if (size == 0) return;  // an empty view may have no address at all
    const std::size_t offset = position & (kRingCapacity - 1);
    const std::size_t before_end = std::min(size, kRingCapacity - offset);
    std::memcpy(data() + offset, bytes, before_end);
    if (before_end < size) {
      std::memcpy(data(), static_cast<const unsigned char*>(bytes) + before_end, size - before_end);
    }
    position += size;
  };
  put(header, sizeof header);
  put(first.data(), first.size());
  put(second.data(), second.size());
  std::atomic_ref(head()).store(position, std::memory_order_release);
  return true;
}

bool FrameRing::take_wake_request() noexcept {
  // Pairs with arm_wake's fence: either the service sees the new head, or this sees its
  // request (Dekker), so a record is never left unread with both sides asleep.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  std::atomic_ref wanted(wake());
  return wanted.load(std::memory_order_relaxed) != 0 &&
         wanted.exchange(0, std::memory_order_acq_rel) != 0;
}

bool FrameRing::drain(std::string& out) {
  const std::uint64_t end = std::atomic_ref(head()).load(std::memory_order_acquire);
  const std::uint64_t start = std::atomic_ref(tail()).load(std::memory_order_relaxed);
  const std::uint64_t size = end - start;
  if (size > kRingCapacity) return false;
  const std::size_t offset = start & (kRingCapacity - 1);
  const std::size_t before_end = std::min<std::size_t>(size, kRingCapacity - offset);
  out.append(reinterpret_cast<const char*>(data()) + offset, before_end);
  out.append(reinterpret_cast<const char*>(data()), size - before_end);
  std::atomic_ref(tail()).store(end, std::memory_order_release);
  return true;
}

bool FrameRing::has_records() const noexcept {
  return std::atomic_ref(head()).load(std::memory_order_acquire) !=
         std::atomic_ref(tail()).load(std::memory_order_relaxed);
}

bool FrameRing::arm_wake() noexcept {
  std::atomic_ref(wake()).store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return std::atomic_ref(head()).load(std::memory_order_acquire) !=
         std::atomic_ref(tail()).load(std::memory_order_relaxed);
}

void FrameRing::disarm_wake() noexcept {
  std::atomic_ref(wake()).store(0, std::memory_order_relaxed);
}

}  // namespace httpapi::ipc
