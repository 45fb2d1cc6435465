#include "ipc/seen_counter.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

namespace httpapi::ipc {

namespace {

constexpr std::size_t kSize = sizeof(std::uint64_t);
constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

void* map(int fd, int protection) {
  void* word = ::mmap(nullptr, kSize, protection, MAP_SHARED, fd, 0);
  return word == MAP_FAILED ? nullptr : word;
}

}  // namespace

SeenCounter::~SeenCounter() {
  if (word_) ::munmap(word_, kSize);
}

SeenCounter::SeenCounter(SeenCounter&& other) noexcept
    : word_(std::exchange(other.word_, nullptr)) {}

SeenCounter& SeenCounter::operator=(SeenCounter&& other) noexcept {
  if (this != &other) {
    if (word_) ::munmap(word_, kSize);
    word_ = std::exchange(other.word_, nullptr);
  }
  return *this;
}

SeenCounter SeenCounter::create(int& fd, std::string& why) {
  fd = ::memfd_create("httpapi-seen", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    why = std::string("memfd_create: ") + std::strerror(errno);
    return {};
  }
  void* word = nullptr;
  if (::ftruncate(fd, kSize) != 0 || ::fcntl(fd, F_ADD_SEALS, kSeals) != 0 ||
      !(word = map(fd, PROT_READ | PROT_WRITE))) {
    why = std::string("shared counter: ") + std::strerror(errno);
    ::close(fd);
    fd = -1;
    return {};
  }
  return SeenCounter(word);
}

SeenCounter SeenCounter::attach(int fd, std::string& why) {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  struct stat status {};
  if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
    why = "the seen counter is not a memfd sealed against shrinking";
    return {};
  }
  if (::fstat(fd, &status) != 0 || status.st_size < static_cast<off_t>(kSize)) {
    why = "the seen counter is smaller than a counter";
    return {};
  }
  void* word = map(fd, PROT_READ);
  if (!word) {
    why = std::string("mapping the seen counter: ") + std::strerror(errno);
    return {};
  }
  return SeenCounter(word);
}

void SeenCounter::add_one() noexcept {
  std::atomic_ref<std::uint64_t> count(*word_);
  count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

std::uint64_t SeenCounter::value() const noexcept {
  // A load writes nothing, so the read-only mapping is fine for atomic_ref.
  return std::atomic_ref<std::uint64_t>(*word_).load(std::memory_order_acquire);
}

}  // namespace httpapi::ipc
