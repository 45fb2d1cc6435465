#include "ipc/seen_counter.hpp"

#include <atomic>

namespace httpapi::ipc {

namespace {

constexpr std::size_t kSize = sizeof(std::uint64_t);

}  // namespace

SeenCounter SeenCounter::create(int& fd, std::string& why) {
  SeenCounter counter;
  counter.page_ = SealedPage::create("httpapi-seen", kSize, fd, why);
  return counter;
}

SeenCounter SeenCounter::attach(int fd, std::string& why) {
  SeenCounter counter;
  counter.page_ = SealedPage::attach(
      fd, {"the seen counter", kSize, /*exact_size=*/false, /*sealed_grow=*/false, /*writable=*/false},
      why);
  return counter;
}

std::uint64_t& SeenCounter::word() const noexcept {
  return *reinterpret_cast<std::uint64_t*>(page_.base());
}

void SeenCounter::add_one() noexcept {
  std::atomic_ref<std::uint64_t> count(word());
  count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

std::uint64_t SeenCounter::value() const noexcept {
  // A load writes nothing, so the read-only mapping is fine for atomic_ref.
  return std::atomic_ref<std::uint64_t>(word()).load(std::memory_order_acquire);
}

}  // namespace httpapi::ipc
