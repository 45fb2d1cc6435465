#include "ipc/sealed_page.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace httpapi::ipc {

namespace {

void* map(int fd, std::size_t size, int protection) {
  void* base = ::mmap(nullptr, size, protection, MAP_SHARED, fd, 0);
  return base == MAP_FAILED ? nullptr : base;
}

}  // namespace

SealedPage::~SealedPage() {
  if (base_) ::munmap(base_, size_);
}

SealedPage::SealedPage(SealedPage&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), size_(other.size_) {}

SealedPage& SealedPage::operator=(SealedPage&& other) noexcept {
  if (this != &other) {
    if (base_) ::munmap(base_, size_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = other.size_;
  }
  return *this;
}

SealedPage SealedPage::create(const char* name, std::size_t size, int& fd, std::string& why) {
  fd = ::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    why = std::string("memfd_create: ") + std::strerror(errno);
    return {};
  }
  constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
  void* base = nullptr;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0 || ::fcntl(fd, F_ADD_SEALS, kSeals) != 0 ||
      !(base = map(fd, size, PROT_READ | PROT_WRITE))) {
    why = std::string(name) + ": " + std::strerror(errno);
    ::close(fd);
    fd = -1;
    return {};
  }
  return SealedPage(base, size);
}

SealedPage SealedPage::attach(int fd, const Rules& rules, std::string& why) {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  const int required = rules.sealed_grow ? F_SEAL_SHRINK | F_SEAL_GROW : F_SEAL_SHRINK;
  if (seals < 0 || (seals & required) != required) {
    why = std::string(rules.what) + " is not a memfd sealed against shrinking" +
          (rules.sealed_grow ? " and growing" : "");
    return {};
  }
  struct stat status {};
  const auto wanted = static_cast<off_t>(rules.size);
  if (::fstat(fd, &status) != 0 ||
      (rules.exact_size ? status.st_size != wanted : status.st_size < wanted)) {
    why = std::string(rules.what) + (rules.exact_size ? " is not " : " is smaller than ") +
          std::to_string(rules.size) + " bytes";
    return {};
  }
  void* base = map(fd, rules.size, rules.writable ? PROT_READ | PROT_WRITE : PROT_READ);
  if (!base) {
    why = std::string("mapping ") + rules.what + ": " + std::strerror(errno);
    return {};
  }
  return SealedPage(base, rules.size);
}

}  // namespace httpapi::ipc
