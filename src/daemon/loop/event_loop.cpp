#include "daemon/loop/event_loop.hpp"

#include "daemon/loop/monotonic_clock.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace httpapi::daemon {

namespace {

// epoll hands back, with each event, the 64 bits given at registration: the descriptor and
// the registration's generation. An fd number alone can name a closed descriptor's
// successor (the instance check of nginx, libuv's pending-event invalidation).
std::uint64_t key_of(int fd, std::uint32_t generation) {
  return std::uint64_t{generation} << 32 | static_cast<std::uint32_t>(fd);
}
int fd_of(std::uint64_t key) { return static_cast<int>(static_cast<std::uint32_t>(key)); }
std::uint32_t generation_of(std::uint64_t key) { return static_cast<std::uint32_t>(key >> 32); }

}  // namespace

class EventLoop::HandlerWatcher final : public Watcher {
 public:
  explicit HandlerWatcher(Handler handler) : handler_(std::move(handler)) {}
  void on_events(std::uint32_t events) override { handler_(events); }

 private:
  Handler handler_;
};

EventLoop::EventLoop(unsigned index) : index_(index) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || timer_fd_ < 0) {
    throw std::runtime_error(std::string("event loop: ") + std::strerror(errno));
  }
  watch(wake_fd_, EPOLLIN, [this](std::uint32_t) {
    std::uint64_t count;
    while (::read(wake_fd_, &count, sizeof count) > 0) {
    }
    take_posts_from_other_threads();
  });
  itimerspec second{};
  second.it_interval.tv_sec = 1;
  second.it_value.tv_sec = 1;
  timerfd_settime(timer_fd_, 0, &second, nullptr);
  watch(timer_fd_, EPOLLIN, [this](std::uint32_t) {
    std::uint64_t expirations;
    while (::read(timer_fd_, &expirations, sizeof expirations) > 0) {
    }
    for (auto& tick : ticks_) tick();
  });
}

EventLoop::~EventLoop() {
  ::close(timer_fd_);
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

EventLoop::Registration* EventLoop::registration(int fd) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= registrations_.size()) return nullptr;
  return &registrations_[static_cast<std::size_t>(fd)];
}

void EventLoop::watch(int fd, std::uint32_t events, Watcher& watcher) {
  if (fd < 0) return;
  if (static_cast<std::size_t>(fd) >= registrations_.size()) {
    registrations_.resize(static_cast<std::size_t>(fd) + 1);
  }
  // A handler the loop kept for the descriptor's previous registration goes with it.
  if (auto it = handlers_.find(fd); it != handlers_.end()) {
    unwatched_handlers_.push_back(std::move(it->second));
    handlers_.erase(it);
  }
  const std::uint32_t generation = ++last_generation_;
  registrations_[static_cast<std::size_t>(fd)] = Registration{&watcher, generation};
  control(EPOLL_CTL_ADD, fd, events, generation);
}

void EventLoop::watch(int fd, std::uint32_t events, Handler handler) {
  if (fd < 0) return;
  auto owned = std::make_unique<HandlerWatcher>(std::move(handler));
  HandlerWatcher& watcher = *owned;
  watch(fd, events, watcher);
  handlers_[fd] = std::move(owned);
}

void EventLoop::modify(int fd, std::uint32_t events) {
  if (const Registration* r = registration(fd); r && r->watcher) {
    control(EPOLL_CTL_MOD, fd, events, r->generation);
  }
}

void EventLoop::unwatch(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  if (Registration* r = registration(fd)) *r = Registration{};
  if (auto it = handlers_.find(fd); it != handlers_.end()) {
    unwatched_handlers_.push_back(std::move(it->second));
    handlers_.erase(it);
  }
}

void EventLoop::control(int operation, int fd, std::uint32_t events,
                        std::uint32_t generation) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = key_of(fd, generation);
  // A descriptor watched again without unwatch() in between takes the new generation.
  if (epoll_ctl(epoll_fd_, operation, fd, &ev) != 0 && operation == EPOLL_CTL_ADD &&
      errno == EEXIST) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  }
}

bool EventLoop::in_loop_thread() const noexcept {
  return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

void EventLoop::post(Task task) {
  if (in_loop_thread()) {
    tasks_.push_back(std::move(task));
    return;
  }
  bool was_empty;
  {
    std::lock_guard lock(posted_mutex_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(task));
  }
  if (was_empty) wake();
}

void EventLoop::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::take_posts_from_other_threads() {
  std::lock_guard lock(posted_mutex_);
  for (auto& task : posted_) tasks_.push_back(std::move(task));
  posted_.clear();
}

void EventLoop::every_second(Task tick) { ticks_.push_back(std::move(tick)); }

void EventLoop::dispatch(std::uint64_t key, std::uint32_t events) {
  // A handler earlier in the batch may have unwatched this descriptor, or closed it and
  // watched another under the same number: only its own registration's events count.
  const Registration* r = registration(fd_of(key));
  if (!r || !r->watcher || r->generation != generation_of(key)) return;
  r->watcher->on_events(events);  // a handler it unwatches lives until the batch is over
}

// Tasks first, so what they queue for the hook (requests submitted during the batch) goes
// out in the same write; the hook may post again, and those run before the loop sleeps.
void EventLoop::end_batch() {
  do {
    run_tasks();
    for (Task& hook : batch_end_) hook();
  } while (!tasks_.empty());
}

// The two vectors trade places and keep their capacity: a busy loop allocates nothing here.
void EventLoop::run_tasks() {
  while (!tasks_.empty()) {
    in_progress_.swap(tasks_);
    for (auto& task : in_progress_) task();
    in_progress_.clear();
  }
}

void EventLoop::run() {
  owner_.store(std::this_thread::get_id());
  running_.store(true);
  while (running_.load(std::memory_order_relaxed) && turn(-1)) {
  }
  take_posts_from_other_threads();
  run_tasks();
}

void EventLoop::run_once(int timeout_ms) {
  owner_.store(std::this_thread::get_id());
  turn(timeout_ms);
  take_posts_from_other_threads();
  end_batch();
}

void EventLoop::add_poller(Task poll, Task idle) {
  pollers_.push_back({std::move(poll), std::move(idle)});
}

bool EventLoop::turn(int timeout_ms) {
  epoll_event events[256];
  const bool polling = stay_awake_;
  const int n = epoll_wait(epoll_fd_, events, 256, polling ? 0 : timeout_ms);
  if (n < 0) return errno == EINTR;
  stay_awake_ = false;
  const BatchClockScope batch;
  for (int i = 0; i < n; ++i) dispatch(events[i].data.u64, events[i].events);
  unwatched_handlers_.clear();
  // Once per turn, not in end_batch's rounds: a source that never runs dry must not keep
  // the loop from its descriptors.
  const bool going_to_sleep = polling && n == 0;
  for (Poller& poller : pollers_) going_to_sleep ? poller.idle() : poller.poll();
  end_batch();
  return true;
}

void EventLoop::stop() {
  running_.store(false);
  wake();
}

}  // namespace httpapi::daemon
