// A request queue: bounded FIFO of routed requests waiting for a process to ask for one.
// Lives on the service loop (loop 0) only; I/O threads reach it through EventLoop::post.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace httpapi::daemon {

class AppChannel;

class RequestQueue {
 public:
  RequestQueue(std::uint64_t id, std::string name, std::uint32_t owner_uid,
               std::uint32_t flags, std::size_t capacity)
      : id_(id), name_(std::move(name)), owner_uid_(owner_uid), flags_(flags),
        capacity_(capacity) {}

  std::uint64_t id() const noexcept { return id_; }
  const std::string& name() const noexcept { return name_; }
  std::uint32_t owner_uid() const noexcept { return owner_uid_; }
  std::uint32_t flags() const noexcept { return flags_; }
  bool full() const noexcept { return waiting_.size() >= capacity_; }
  void set_capacity(std::size_t capacity) noexcept { capacity_ = capacity; }
  std::size_t length() const noexcept { return waiting_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }

  void push(std::uint64_t request_id) { waiting_.push_back(request_id); }
  // Puts requests handed over but never seen back at the front, keeping their order. They
  // held their places before, so the length limit does not refuse them.
  void requeue(const std::vector<std::uint64_t>& request_ids) {
    waiting_.insert(waiting_.begin(), request_ids.begin(), request_ids.end());
  }
  void remove(std::uint64_t request_id);
  bool pop(std::uint64_t& request_id);
  // The request pop() would take; false when none waits.
  bool front(std::uint64_t& request_id) const;
  std::vector<std::uint64_t> take_all();
  // Takes out, in queue order, every waiting request for which `done(id)` is true.
  template <typename Predicate>
  std::vector<std::uint64_t> take_if(Predicate done) {
    std::vector<std::uint64_t> taken;
    std::erase_if(waiting_, [&](std::uint64_t id) {
      if (!done(id)) return false;
      taken.push_back(id);
      return true;
    });
    return taken;
  }

  // Processes attached to receive from this queue.
  void attach(AppChannel* channel);
  void detach(AppChannel* channel);
  const std::vector<AppChannel*>& receivers() const noexcept { return receivers_; }
  // The next receiver for which `ready(receiver)` is true (it asked for a request and can
  // take one), round robin; nullptr when none is.
  template <typename Ready>
  AppChannel* next_receiver(Ready ready) {
    for (std::size_t i = 0; i < receivers_.size(); ++i) {
      AppChannel* candidate = receivers_[(next_ + i) % receivers_.size()];
      if (ready(candidate)) {
        next_ = (next_ + i + 1) % receivers_.size();
        return candidate;
      }
    }
    return nullptr;
  }

  unsigned handles = 0;  // open handles (creator, openers); the last close ends the queue
  std::uint64_t creator_channel = 0;   // the handle that created it (may grant access)
  std::vector<std::uint32_t> allowed_uids;  // besides the owner and root
  std::vector<std::uint32_t> allowed_gids;
  bool active = true;          // inactive: new requests get 503 Disabled
  std::uint32_t verbosity = 1; // HTTPAPI_503_*
  bool held = false;           // an upgrade holds it until its application is back
  // A held queue taken back: requests routed here (by a routing snapshot older than the
  // take-back) go to this queue instead.
  std::uint64_t forward_to = 0;

 private:
  std::uint64_t id_;
  std::string name_;
  std::uint32_t owner_uid_;
  std::uint32_t flags_;
  std::size_t capacity_;
  std::deque<std::uint64_t> waiting_;
  std::vector<AppChannel*> receivers_;
  std::size_t next_ = 0;
};

}  // namespace httpapi::daemon
