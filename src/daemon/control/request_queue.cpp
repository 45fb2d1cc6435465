#include "daemon/control/request_queue.hpp"

#include <algorithm>

namespace httpapi::daemon {

bool RequestQueue::pop(std::uint64_t& request_id) {
  if (waiting_.empty()) return false;
  request_id = waiting_.front();
  waiting_.pop_front();
  return true;
}

bool RequestQueue::front(std::uint64_t& request_id) const {
  if (waiting_.empty()) return false;
  request_id = waiting_.front();
  return true;
}

std::vector<std::uint64_t> RequestQueue::take_all() {
  std::vector<std::uint64_t> all(waiting_.begin(), waiting_.end());
  waiting_.clear();
  return all;
}

void RequestQueue::remove(std::uint64_t request_id) {
  auto it = std::find(waiting_.begin(), waiting_.end(), request_id);
  if (it != waiting_.end()) waiting_.erase(it);
}

void RequestQueue::attach(AppChannel* channel) { receivers_.push_back(channel); }

void RequestQueue::detach(AppChannel* channel) {
  std::erase(receivers_, channel);
}

}  // namespace httpapi::daemon
