#include "daemon/loop/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace httpapi::daemon {

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
    drain_tasks();
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

void EventLoop::watch(int fd, std::uint32_t events, Handler handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  handlers_[fd] = std::move(handler);
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void EventLoop::modify(int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::unwatch(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  handlers_.erase(fd);
}

bool EventLoop::in_loop_thread() const noexcept {
  return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

void EventLoop::post(Task task) {
  if (in_loop_thread()) {
    task();
    return;
  }
  defer(std::move(task));
}

void EventLoop::defer(Task task) {
  bool was_empty;
  {
    std::lock_guard lock(tasks_mutex_);
    was_empty = tasks_.empty();
    tasks_.push_back(std::move(task));
  }
  if (was_empty) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
  }
}

void EventLoop::every_second(Task tick) { ticks_.push_back(std::move(tick)); }

void EventLoop::drain_tasks() {
  std::vector<Task> batch;
  {
    std::lock_guard lock(tasks_mutex_);
    batch.swap(tasks_);
  }
  for (auto& task : batch) task();
}

void EventLoop::run() {
  owner_.store(std::this_thread::get_id());
  running_.store(true);
  epoll_event events[256];
  while (running_.load(std::memory_order_relaxed)) {
    const int n = epoll_wait(epoll_fd_, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      // A handler may unwatch (and close) fds later in this batch: look each one up afresh.
      auto it = handlers_.find(events[i].data.fd);
      if (it == handlers_.end()) continue;
      Handler handler = it->second;  // keep the callable alive while it runs
      handler(events[i].events);
    }
    if (batch_end_) batch_end_();
  }
  drain_tasks();
}

void EventLoop::stop() {
  running_.store(false);
  const std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
}

}  // namespace httpapi::daemon
