// Who is at the other end of a control-socket connection, as the kernel says
// (SO_PEERCRED, SO_PEERGROUPS). Nothing a peer claims about itself is used.
#pragma once

#include <sys/types.h>

#include <vector>

namespace httpapi::daemon {

struct PeerIdentity {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups

  bool is_root() const noexcept { return uid == 0; }
  bool in_group(gid_t g) const noexcept {
    if (g == gid) return true;
    for (gid_t member : groups) {
      if (member == g) return true;
    }
    return false;
  }
};

// Reads the identity of the peer of a connected Unix socket; false if the kernel won't say.
bool read_peer_identity(int fd, PeerIdentity& peer);

}  // namespace httpapi::daemon
