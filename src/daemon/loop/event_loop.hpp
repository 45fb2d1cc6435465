// One epoll event loop per I/O thread (DESIGN.md §7). A loop owns the file descriptors and
// objects registered on it; other threads talk to it only through post().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace httpapi::daemon {

class EventLoop {
 public:
  using Handler = std::function<void(std::uint32_t events)>;
  using Task = std::function<void()>;

  explicit EventLoop(unsigned index);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  unsigned index() const noexcept { return index_; }

  // Registers `fd` for `events` (EPOLLIN/EPOLLOUT/...). The handler runs on this loop.
  // Loop thread only.
  void watch(int fd, std::uint32_t events, Handler handler);
  void modify(int fd, std::uint32_t events);
  void unwatch(int fd);

  // Runs `task` on this loop's thread: inline when called from it, else queued. Any thread.
  void post(Task task);
  // Always queued, even from the loop's own thread (runs after the current event).
  void defer(Task task);

  // Runs `hook` after every batch of events, so work queued during the batch (e.g. output
  // for one peer from many events) is done once. One hook per loop.
  void on_batch_end(Task hook) { batch_end_ = std::move(hook); }

  // Runs `tick` once a second on this loop (timers that need second resolution).
  void every_second(Task tick);

  bool in_loop_thread() const noexcept;

  // Runs until stop(). Call from the thread that will own the loop.
  void run();
  void stop();  // any thread

 private:
  void drain_tasks();

  unsigned index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int timer_fd_ = -1;
  std::atomic<bool> running_{false};
  std::atomic<std::thread::id> owner_{};
  std::unordered_map<int, Handler> handlers_;
  std::vector<Task> ticks_;
  Task batch_end_;
  std::mutex tasks_mutex_;
  std::vector<Task> tasks_;
};

}  // namespace httpapi::daemon
