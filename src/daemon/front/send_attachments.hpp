// What travels with a send whose body is a chunk list (ipc/body_chunks.hpp) from the service
// loop to the connection's I/O thread: the descriptors of its file chunks and the fragments
// it names, each in the order the list names them.
#pragma once

#include <memory>
#include <vector>

#include "daemon/cache/fragment_cache.hpp"
#include "daemon/loop/unique_fd.hpp"

namespace httpapi::daemon {

struct SendAttachments {
  std::vector<UniqueFd> files;
  std::vector<std::shared_ptr<const Fragment>> fragments;
};

}  // namespace httpapi::daemon
