#include "daemon/policy/handshake_limit.hpp"

#include <netinet/in.h>

#include <cstring>
#include <string_view>

namespace httpapi::daemon {

HandshakeLimit::Slot& HandshakeLimit::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    source_ = other.source_;
    other.owner_ = nullptr;
  }
  return *this;
}

void HandshakeLimit::Slot::release() noexcept {
  if (!owner_) return;
  owner_->give_back(source_);
  owner_ = nullptr;
}

std::size_t HandshakeLimit::Hash::operator()(const Source& s) const noexcept {
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(s.data()), s.size()));
}

// IPv4 (plain or mapped) as ::ffff:a.b.c.d; IPv6 cut to its /64.
HandshakeLimit::Source HandshakeLimit::source_of(const sockaddr_storage& remote) noexcept {
  Source source{};
  if (remote.ss_family == AF_INET) {
    source[10] = source[11] = 0xff;
    std::memcpy(&source[12], &reinterpret_cast<const sockaddr_in&>(remote).sin_addr, 4);
  } else if (remote.ss_family == AF_INET6) {
    const auto& address = reinterpret_cast<const sockaddr_in6&>(remote).sin6_addr;
    std::memcpy(source.data(), &address, 16);
    if (!IN6_IS_ADDR_V4MAPPED(&address)) std::memset(&source[8], 0, 8);
  }
  return source;
}

bool HandshakeLimit::try_take(const sockaddr_storage& remote, std::uint32_t limit,
                              Slot& slot) {
  const Source source = source_of(remote);
  {
    std::lock_guard lock(mutex_);
    std::uint32_t& count = counts_[source];
    if (count >= limit) return false;
    ++count;
  }
  slot = Slot();
  slot.owner_ = this;
  slot.source_ = source;
  return true;
}

std::uint32_t HandshakeLimit::in_progress(const sockaddr_storage& remote) {
  std::lock_guard lock(mutex_);
  const auto it = counts_.find(source_of(remote));
  return it == counts_.end() ? 0 : it->second;
}

void HandshakeLimit::give_back(const Source& source) noexcept {
  std::lock_guard lock(mutex_);
  const auto it = counts_.find(source);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

}  // namespace httpapi::daemon
