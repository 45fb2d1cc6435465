// TLS handshakes in progress per client source, across all I/O threads. A handshake costs
// the server a key exchange and a few KiB until it finishes, so one source that opens
// handshakes and stalls them (or floods new ones) holds at most the limit at once; past it,
// its new connections are reset at accept, and everyone else's are unaffected. A source is
// an IPv4 address or an IPv6 /64 (what one subscriber can have). Thread-safe.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace httpapi::daemon {

class HandshakeLimit {
 public:
  using Source = std::array<unsigned char, 16>;

  // One handshake counted against its source until released (or destroyed).
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept : owner_(other.owner_), source_(other.source_) {
      other.owner_ = nullptr;
    }
    Slot& operator=(Slot&& other) noexcept;
    ~Slot() { release(); }
    void release() noexcept;

   private:
    friend class HandshakeLimit;
    HandshakeLimit* owner_ = nullptr;
    Source source_{};
  };

  // Counts a handshake from `remote` in `slot`, unless `limit` are in progress already.
  bool try_take(const sockaddr_storage& remote, std::uint32_t limit, Slot& slot);
  std::uint32_t in_progress(const sockaddr_storage& remote);

 private:
  struct Hash {
    std::size_t operator()(const Source& s) const noexcept;
  };
  static Source source_of(const sockaddr_storage& remote) noexcept;
  void give_back(const Source& source) noexcept;

  std::mutex mutex_;
  std::unordered_map<Source, std::uint32_t, Hash> counts_;
};

}  // namespace httpapi::daemon
