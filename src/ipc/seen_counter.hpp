// The count of delivered requests a process has handed to application code, kept in a page
// the library and the service share (protocol version 3, docs/protocol.md).
//
// The service must know which delivered requests application code has seen: when the
// process dies, the unseen ones go to the next worker and the seen ones must not (they may
// have had effects). Version 2 told it with a `seen` frame per request, one system call on
// every receive; a counter in shared memory tells it with one store. The library creates a
// sealed memfd (its size can no longer change, so the service can never fault reading it),
// sends it once with SCM_RIGHTS, and adds one before each hand-over; the service reads the
// counter when it needs to know, and counts requests in the order it delivered them.
#pragma once

#include <cstdint>
#include <string>

#include "ipc/sealed_page.hpp"

namespace httpapi::ipc {

class SeenCounter {
 public:
  // The library's side: a new counter at 0, writable. `fd` receives the sealed memfd to
  // send (the caller closes it once sent). An invalid counter and `why` on failure (no
  // memfd here, e.g. a seccomp filter): the library then reports with `seen` frames.
  static SeenCounter create(int& fd, std::string& why);
  // The service's side: maps what a peer sent, read-only, after checking it is a memfd
  // sealed against shrinking and large enough. Does not take `fd`. Invalid and `why` when
  // it is not.
  static SeenCounter attach(int fd, std::string& why);

  bool valid() const noexcept { return page_.valid(); }
  // Library: one more request handed to application code (release: the hand-over follows).
  void add_one() noexcept;
  // Service: how many the peer says it handed over. Untrusted: a peer may write anything.
  std::uint64_t value() const noexcept;

 private:
  std::uint64_t& word() const noexcept;
  SealedPage page_;
};

}  // namespace httpapi::ipc
