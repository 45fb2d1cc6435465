// Memory a library process shares with the service through a sealed memfd: the seen counter
// (ipc/seen_counter.hpp) and the frame ring (ipc/frame_ring.hpp).
//
// The library creates the memfd, gives it its size and seals it, so that the service, which
// maps what a peer sent, can never fault reading it (it cannot shrink) and knows its layout
// (it cannot grow). The service checks the seals and the size before it maps anything.
#pragma once

#include <cstddef>
#include <string>

namespace httpapi::ipc {

// A mapping of `size` bytes, unmapped when it goes.
class SealedPage {
 public:
  SealedPage() = default;
  ~SealedPage();
  SealedPage(SealedPage&& other) noexcept;
  SealedPage& operator=(SealedPage&& other) noexcept;
  SealedPage(const SealedPage&) = delete;
  SealedPage& operator=(const SealedPage&) = delete;

  // The library's side: a new memfd named `name` of `size` zero bytes, sealed against any
  // change of size, mapped read-write. `fd` receives it to send (the caller closes it once
  // sent). Invalid, with `why`, when this process cannot make one (e.g. a seccomp filter).
  static SealedPage create(const char* name, std::size_t size, int& fd, std::string& why);

  // What the service requires of a peer's memfd: `what` names it in the reasons.
  struct Rules {
    const char* what;
    std::size_t size;
    bool exact_size;    // else at least `size`
    bool sealed_grow;   // sealed against growing too, not only shrinking
    bool writable;      // mapped read-write, else read-only
  };
  // The service's side: maps `size` bytes of `fd` after checking it against `rules`. Does
  // not take `fd`. Invalid, with `why`, when it does not qualify.
  static SealedPage attach(int fd, const Rules& rules, std::string& why);

  bool valid() const noexcept { return base_ != nullptr; }
  unsigned char* base() const noexcept { return base_; }

 private:
  SealedPage(void* base, std::size_t size)
      : base_(static_cast<unsigned char*>(base)), size_(size) {}
  unsigned char* base_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace httpapi::ipc
