// One epoll event loop per I/O thread (DESIGN.md §7). A loop owns the file descriptors and
// objects registered on it; other threads talk to it only through post().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "daemon/loop/task.hpp"

namespace httpapi::daemon {

class EventLoop {
 public:
  using Handler = std::function<void(std::uint32_t events)>;

  // An object that handles its own descriptor's events. Registered by reference, it costs
  // the loop a slot in a table indexed by descriptor and no allocation: a client connection
  // is one, and idle keep-alive connections can be many (bench/idle.sh). The watcher must
  // outlive its registration (unwatch() before it is destroyed, or close the descriptor
  // first and let the slot be taken over).
  class Watcher {
   public:
    virtual void on_events(std::uint32_t events) = 0;

   protected:
    ~Watcher() = default;
  };

  explicit EventLoop(unsigned index);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  unsigned index() const noexcept { return index_; }

  // Registers `fd` for `events` (EPOLLIN/EPOLLOUT/...). The watcher (or handler) runs on this
  // loop, for this registration's events only: an event still pending for a descriptor that
  // was closed earlier in the batch never reaches a new one given the same number. Loop
  // thread only.
  void watch(int fd, std::uint32_t events, Watcher& watcher);
  // The same for the few descriptors that are not objects of their own (listeners, timers,
  // channels): the loop keeps the handler.
  void watch(int fd, std::uint32_t events, Handler handler);
  void modify(int fd, std::uint32_t events);
  // Takes effect at once: the rest of the current batch delivers nothing more for `fd`.
  void unwatch(int fd);

  // Runs `task` on this loop's thread, never inside the caller, so no component re-enters
  // another. Tasks run in the order each thread posted them: after the current batch of
  // events, before the loop sleeps again. Any thread.
  void post(Task task);

  // Runs `hook` after every batch of events and the tasks it posted, so work queued during
  // the batch (e.g. output for one peer from many events) is done once. Hooks run in the
  // order they were added (the service's and the I/O worker's share loop 0). Loop thread only.
  void on_batch_end(Task hook) { batch_end_.push_back(std::move(hook)); }

  // Work that epoll cannot announce: records an application put in its frame ring (shared
  // memory). Waking the loop for each batch of them costs the application a write and the
  // loop a read, so a busy loop looks instead: while some batch asked it to stay_awake(),
  // the next wait does not sleep, and after that wait's events every `poll` hook runs. When
  // such a wait finds no event at all, the `idle` hooks run instead: they ask their sources
  // for a wake-up before the loop sleeps (or find work and ask it to stay awake again).
  // Loop thread only.
  void add_poller(Task poll, Task idle);
  void stay_awake() noexcept { stay_awake_ = true; }

  // Runs `tick` once a second on this loop (timers that need second resolution).
  void every_second(Task tick);

  bool in_loop_thread() const noexcept;

  // Runs until stop(). Call from the thread that will own the loop.
  void run();
  // Waits at most `timeout_ms` for events, handles them and the posted tasks, and returns:
  // one turn of run(), for a harness that drives the loop itself (fuzz_http2_session). Call
  // from the thread that owns the loop.
  void run_once(int timeout_ms);
  void stop();  // any thread

 private:
  // What epoll's event data names, with the generation it carries (key_of in the .cpp).
  struct Registration {
    Watcher* watcher = nullptr;  // null: not watched
    std::uint32_t generation = 0;
  };
  class HandlerWatcher;

  Registration* registration(int fd) noexcept;
  void control(int operation, int fd, std::uint32_t events, std::uint32_t generation);
  void dispatch(std::uint64_t key, std::uint32_t events);
  void wake();
  // One turn: false when epoll_wait failed for good.
  bool turn(int timeout_ms);
  void take_posts_from_other_threads();
  void end_batch();
  void run_tasks();

  unsigned index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int timer_fd_ = -1;
  std::atomic<bool> running_{false};
  std::atomic<std::thread::id> owner_{};
  // Indexed by descriptor: numbers are small and dense. A deque grows without moving its
  // slots (no reallocation of one large block while connections arrive).
  std::deque<Registration> registrations_;
  std::unordered_map<int, std::unique_ptr<HandlerWatcher>> handlers_;
  // Handlers unwatched during a batch, possibly by themselves: destroyed after it.
  std::vector<std::unique_ptr<HandlerWatcher>> unwatched_handlers_;
  std::uint32_t last_generation_ = 0;
  std::vector<Task> ticks_;
  std::vector<Task> batch_end_;
  struct Poller {
    Task poll;
    Task idle;
  };
  std::vector<Poller> pollers_;
  bool stay_awake_ = false;
  std::vector<Task> tasks_;  // loop thread only: posted here, or taken from other threads
  std::vector<Task> in_progress_;  // the tasks being run; kept with its capacity for the next run
  std::mutex posted_mutex_;
  std::vector<Task> posted_;  // by other threads, announced on wake_fd_
};

}  // namespace httpapi::daemon
