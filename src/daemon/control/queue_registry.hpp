// The request queues, by id and by name, and the queue each handle (a channel of the queue
// role) created or opened: creation, opening under the queue's access rules, and a handle's
// last close. Bookkeeping only: it sends nothing. Service loop only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/control/request_queue.hpp"

namespace httpapi::daemon {

class AppChannel;
struct PeerIdentity;

class QueueRegistry {
 public:
  using Queues = std::unordered_map<std::uint64_t, std::unique_ptr<RequestQueue>>;

  // The queue a create_queue call gave the handle, or why it gave none: an HTTPAPI_ERROR_*
  // status with `detail` for the application.
  struct Created {
    std::uint32_t status = 0;
    std::string detail;
    RequestQueue* queue = nullptr;
  };
  // HttpCreateRequestQueue on `handle`: creates the queue `name` ("" for an unnamed one)
  // holding at most `length` requests, or with HTTPAPI_QUEUE_FLAG_OPEN_EXISTING opens the
  // queue of that name if the handle's user may. A handle gets one queue.
  Created create(AppChannel& handle, std::string_view name, std::uint32_t flags,
                 std::size_t length);

  // `handle` is gone: it no longer receives from its queue. `ends` when it was the last
  // handle of a queue that is not persistent; the caller then ends the queue (erase()).
  struct Released {
    RequestQueue* queue = nullptr;
    bool ends = false;
  };
  Released release(AppChannel& handle);
  // An upgrade's held queue (docs/operations.md, "Upgrades"): no handle, no name of its
  // own (its application makes its queue again under the name), `label` for servicestate.
  RequestQueue& create_held(std::string label, std::uint32_t owner_uid, std::uint32_t flags,
                            std::size_t length);
  void erase(std::uint64_t queue_id);

  RequestQueue* find(std::uint64_t queue_id) const;
  // The queue `handle` created or opened; nullptr when none, or when it was shut down.
  RequestQueue* queue_of(const AppChannel& handle) const;
  // The id of the queue `handle` created or opened, even one since shut down; 0 when none.
  std::uint64_t queue_id_of(const AppChannel& handle) const;
  // The channel ids of the handles of `queue_id`.
  std::vector<std::uint64_t> handles_of(std::uint64_t queue_id) const;
  const Queues& all() const noexcept { return queues_; }

  // May `peer` open `queue`? Its owner and root may, and whom its creator allowed.
  static bool may_open(const PeerIdentity& peer, const RequestQueue& queue);

 private:
  std::uint64_t next_id_ = 0;
  Queues queues_;
  std::unordered_map<std::string, std::uint64_t> by_name_;  // named queues only
  std::unordered_map<std::uint64_t, std::uint64_t> handles_;  // channel id -> queue id
};

}  // namespace httpapi::daemon
