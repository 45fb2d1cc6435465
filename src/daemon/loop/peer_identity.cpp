#include "daemon/loop/peer_identity.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace httpapi::daemon {

bool read_peer_identity(int fd, PeerIdentity& peer) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return false;
  peer.pid = credentials.pid;
  peer.uid = credentials.uid;
  peer.gid = credentials.gid;
  // SO_PEERGROUPS reports the size it needs when the buffer is too small.
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    socklen_t bytes = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &bytes) == 0) {
      groups.resize(bytes / sizeof(gid_t));
      peer.groups = std::move(groups);
      return true;
    }
    if (errno != ERANGE) return true;  // an old kernel: primary group only
    groups.resize(bytes / sizeof(gid_t) + 1);
  }
  return true;
}

}  // namespace httpapi::daemon
