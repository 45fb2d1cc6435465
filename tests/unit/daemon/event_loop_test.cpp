// The event loop's contract over real descriptors (eventfds) and a real epoll set: which
// handler an event reaches, when posted tasks run, and in what order. Each test runs the
// loop on its own thread until a handler or task calls stop(); a test that would otherwise
// hang ends on the loop's one-second tick instead and says so.
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "daemon/loop/event_loop.hpp"

namespace d = httpapi::daemon;

namespace {

// An eventfd is readable while its counter is non-zero: `ready` ones are in the first batch.
int ready_fd() { return ::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC); }
int idle_fd() { return ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

void consume(int fd) {
  std::uint64_t count;
  [[maybe_unused]] auto n = ::read(fd, &count, sizeof count);
}

// Ends a test that went wrong by waiting for an event that never comes.
void stop_on_tick(d::EventLoop& loop, bool& timed_out) {
  loop.every_second([&loop, &timed_out] {
    timed_out = true;
    loop.stop();
  });
}

}  // namespace

// A handler early in a batch closes descriptor N and a new descriptor gets number N (a
// connection closes, then on_accept in the same batch is handed the number back). The old
// N's event, still in the batch, must not reach the new registration. Whichever of the two
// ready descriptors comes first replaces the other, so the test holds in either order.
TEST(EventLoop, EventOfAClosedDescriptorNeverReachesTheNextOneWithItsNumber) {
  d::EventLoop loop(0);
  int fds[2] = {ready_fd(), ready_fd()};
  bool replaced = false;
  int successor_events = 0;
  auto first_in_batch = [&](int other) {
    if (replaced) return;
    replaced = true;
    loop.unwatch(fds[other]);
    ::close(fds[other]);
    const int successor = idle_fd();
    if (successor != fds[other]) {  // N is the lowest free number, unless a test runner holds one
      ASSERT_EQ(::dup2(successor, fds[other]), fds[other]);
      ::close(successor);
    }
    loop.watch(fds[other], EPOLLIN, [&](std::uint32_t) { ++successor_events; });
    loop.stop();  // after this batch
  };
  loop.watch(fds[0], EPOLLIN, [&](std::uint32_t) { first_in_batch(1); });
  loop.watch(fds[1], EPOLLIN, [&](std::uint32_t) { first_in_batch(0); });
  loop.run();
  EXPECT_TRUE(replaced);
  EXPECT_EQ(successor_events, 0);
  ::close(fds[0]);
  ::close(fds[1]);
}

// The same interleaving for objects registered by reference (client connections): the
// closed descriptor's pending event reaches neither the successor nor the old object.
namespace {
struct CountingWatcher final : d::EventLoop::Watcher {
  std::function<void()> on_first;
  int events = 0;
  void on_events(std::uint32_t) override {
    ++events;
    if (on_first) std::exchange(on_first, nullptr)();
  }
};
}  // namespace

TEST(EventLoop, EventOfAClosedDescriptorNeverReachesTheNextWatcherWithItsNumber) {
  d::EventLoop loop(0);
  int fds[2] = {ready_fd(), ready_fd()};
  CountingWatcher watchers[2], successor;
  bool replaced = false;
  auto replace = [&](int other) {
    replaced = true;
    loop.unwatch(fds[other]);
    ::close(fds[other]);
    const int fd = idle_fd();
    if (fd != fds[other]) {
      ASSERT_EQ(::dup2(fd, fds[other]), fds[other]);
      ::close(fd);
    }
    watchers[other].on_first = nullptr;
    loop.watch(fds[other], EPOLLIN, successor);
    loop.stop();
  };
  watchers[0].on_first = [&] { if (!replaced) replace(1); };
  watchers[1].on_first = [&] { if (!replaced) replace(0); };
  loop.watch(fds[0], EPOLLIN, watchers[0]);
  loop.watch(fds[1], EPOLLIN, watchers[1]);
  loop.run();
  EXPECT_TRUE(replaced);
  EXPECT_EQ(watchers[0].events + watchers[1].events, 1);
  EXPECT_EQ(successor.events, 0);
  loop.unwatch(fds[0]);
  loop.unwatch(fds[1]);
  ::close(fds[0]);
  ::close(fds[1]);
}

// A handler the loop keeps may unwatch its own descriptor (a channel that closes on its
// peer's end): it runs to its end with its captures intact (AddressSanitizer would catch a
// handler destroyed under it), and is never called again.
TEST(EventLoop, AHandlerThatUnwatchesItselfFinishesAndIsNotCalledAgain) {
  d::EventLoop loop(0);
  bool timed_out = false;
  stop_on_tick(loop, timed_out);
  const int fd = ready_fd();
  int calls = 0;
  std::string after_unwatch;
  const std::string capture = "still here";
  loop.watch(fd, EPOLLIN, [&loop, &calls, &after_unwatch, fd, capture](std::uint32_t) {
    ++calls;
    loop.unwatch(fd);
    after_unwatch = capture;
    loop.post([&loop] { loop.stop(); });
  });
  loop.run();
  EXPECT_FALSE(timed_out);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(after_unwatch, "still here");
  ::close(fd);
}

TEST(EventLoop, UnwatchInsideABatchSuppressesThatDescriptorsLaterEvents) {
  d::EventLoop loop(0);
  int fds[2] = {ready_fd(), ready_fd()};
  int handled = 0;
  auto first_in_batch = [&](int other) {
    ++handled;
    loop.unwatch(fds[other]);
    loop.stop();
  };
  loop.watch(fds[0], EPOLLIN, [&](std::uint32_t) { first_in_batch(1); });
  loop.watch(fds[1], EPOLLIN, [&](std::uint32_t) { first_in_batch(0); });
  loop.run();
  EXPECT_EQ(handled, 1);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(EventLoop, ModifyKeepsTheRegistration) {
  d::EventLoop loop(0);
  bool timed_out = false;
  stop_on_tick(loop, timed_out);
  const int fd = idle_fd();  // never readable, always writable
  std::uint32_t seen = 0;
  loop.watch(fd, EPOLLIN, [&](std::uint32_t events) {
    seen = events;
    loop.stop();
  });
  loop.modify(fd, EPOLLOUT);
  loop.run();
  EXPECT_FALSE(timed_out);
  EXPECT_TRUE(seen & EPOLLOUT);
  ::close(fd);
}

TEST(EventLoop, PostFromAnotherThreadRunsOnTheLoopThread) {
  d::EventLoop loop(0);
  std::thread::id ran_on;
  std::thread runner([&] { loop.run(); });
  const std::thread::id loop_thread = runner.get_id();
  loop.post([&] {
    ran_on = std::this_thread::get_id();
    loop.stop();
  });
  runner.join();
  EXPECT_EQ(ran_on, loop_thread);
}

TEST(EventLoop, TasksPostedBeforeTheLoopRunsRunOnceItStarts) {
  d::EventLoop loop(0);
  bool timed_out = false;
  stop_on_tick(loop, timed_out);
  bool ran = false;
  loop.post([&] {
    ran = true;
    loop.stop();
  });
  loop.run();
  EXPECT_TRUE(ran);
  EXPECT_FALSE(timed_out);
}

// Posting on the loop's own thread never runs the task inside the caller (the caller may be
// in the middle of changing what the task looks at): it runs once the batch's handlers are
// done, and before the loop sleeps again. Had the loop slept, the tick would come first.
TEST(EventLoop, PostOnTheLoopThreadRunsAfterTheBatchAndBeforeTheLoopSleeps) {
  d::EventLoop loop(0);
  std::vector<std::string> seen;
  loop.every_second([&] {
    seen.push_back("tick");
    loop.stop();
  });
  int fds[2] = {ready_fd(), ready_fd()};
  auto handler = [&](int fd) {
    consume(fd);
    seen.push_back("event");
    if (seen.size() > 1) return;
    loop.post([&] {
      seen.push_back("task");
      loop.stop();
    });
    EXPECT_EQ(seen.back(), "event") << "the task ran inside post()";
  };
  loop.watch(fds[0], EPOLLIN, [&](std::uint32_t) { handler(fds[0]); });
  loop.watch(fds[1], EPOLLIN, [&](std::uint32_t) { handler(fds[1]); });
  loop.run();
  EXPECT_EQ(seen, (std::vector<std::string>{"event", "event", "task"}));
  ::close(fds[0]);
  ::close(fds[1]);
}

// A task posted on the loop thread is in memory only: it does not wake the loop for another
// round. Between the event that posts it and the tick a second later there are exactly two
// batches (hence two batch ends); a wake-up write would add a third.
TEST(EventLoop, PostOnTheLoopThreadDoesNotWakeTheLoop) {
  d::EventLoop loop(0);
  int batches = 0;
  bool ran = false;
  loop.on_batch_end([&] { ++batches; });
  loop.every_second([&] { loop.stop(); });
  const int fd = ready_fd();
  loop.watch(fd, EPOLLIN, [&](std::uint32_t) {
    consume(fd);
    loop.post([&] { ran = true; });
  });
  loop.run();
  EXPECT_TRUE(ran);
  EXPECT_EQ(batches, 2);
  ::close(fd);
}

TEST(EventLoop, TasksPostedOnTheLoopThreadRunInOrder) {
  d::EventLoop loop(0);
  std::vector<int> order;
  const int fd = ready_fd();
  loop.watch(fd, EPOLLIN, [&](std::uint32_t) {
    consume(fd);
    loop.post([&] {
      order.push_back(1);
      loop.post([&] {  // after the tasks already waiting
        order.push_back(4);
        loop.stop();
      });
    });
    loop.post([&] { order.push_back(2); });
    loop.post([&] { order.push_back(3); });
  });
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
  ::close(fd);
}

TEST(EventLoop, TasksPostedFromAnotherThreadRunInOrder) {
  d::EventLoop loop(0);
  std::vector<int> order;
  std::thread runner([&] { loop.run(); });
  constexpr int kTasks = 10000;
  for (int i = 0; i < kTasks; ++i) {
    loop.post([&order, i] { order.push_back(i); });
  }
  loop.post([&] { loop.stop(); });
  runner.join();
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kTasks));
  for (int i = 0; i < kTasks; ++i) ASSERT_EQ(order[i], i);
}

// The batch-end hook sends what the batch queued (the service flushes application channels
// there): tasks the batch posted run first so their output goes in the same write, and
// whatever the hook posts runs before the loop sleeps, followed by the hook again.
TEST(EventLoop, TasksPostedInABatchRunBeforeItsBatchEndHook) {
  d::EventLoop loop(0);
  bool timed_out = false;
  stop_on_tick(loop, timed_out);
  std::vector<std::string> seen;
  loop.on_batch_end([&] {
    seen.push_back("end");
    if (seen.size() > 3) return;
    loop.post([&] {
      seen.push_back("task posted by the hook");
      loop.stop();
    });
  });
  const int fd = ready_fd();
  loop.watch(fd, EPOLLIN, [&](std::uint32_t) {
    consume(fd);
    seen.push_back("event");
    loop.post([&] { seen.push_back("task posted by the event"); });
  });
  loop.run();
  EXPECT_FALSE(timed_out);
  EXPECT_EQ(seen, (std::vector<std::string>{"event", "task posted by the event", "end",
                                            "task posted by the hook", "end"}));
  ::close(fd);
}

TEST(EventLoop, EverySecondTicksOnTheLoopThread) {
  const auto start = std::chrono::steady_clock::now();
  d::EventLoop loop(0);
  int ticks = 0;
  std::thread::id ticked_on;
  loop.every_second([&] {
    ++ticks;
    ticked_on = std::this_thread::get_id();
    loop.stop();
  });
  loop.run();
  EXPECT_EQ(ticks, 1);
  EXPECT_EQ(ticked_on, std::this_thread::get_id());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

// Loop 0 carries the service's hook (application channels) and the I/O worker's (client
// connections): both run after the batch's tasks, in the order they were added, once.
TEST(EventLoop, EveryBatchEndHookRunsAfterTheTasksInOrder) {
  d::EventLoop loop(0);
  std::vector<std::string> order;
  loop.on_batch_end([&] { order.push_back("first hook"); });
  loop.on_batch_end([&] {
    order.push_back("second hook");
    loop.stop();
  });
  const int fd = ready_fd();
  loop.watch(fd, EPOLLIN, [&](std::uint32_t) {
    consume(fd);
    order.push_back("event");
    loop.post([&] { order.push_back("task"); });
  });
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"event", "task", "first hook", "second hook"}));
  ::close(fd);
}

// The harness's turn (fuzz_http2_session): the ready events first, then the tasks posted
// before and during the batch, and back.
TEST(EventLoop, RunOnceHandlesReadyEventsAndThenPostedTasks) {
  d::EventLoop loop(0);
  const int fd = ready_fd();
  std::vector<std::string> order;
  loop.post([&order] { order.push_back("posted before"); });
  loop.watch(fd, EPOLLIN, [&](std::uint32_t) {
    consume(fd);
    order.push_back("event");
    loop.post([&order] { order.push_back("posted by the handler"); });
  });
  loop.run_once(0);
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], "event");
  std::vector<std::string> tasks(order.begin() + 1, order.end());
  std::sort(tasks.begin(), tasks.end());
  EXPECT_EQ(tasks, (std::vector<std::string>{"posted before", "posted by the handler"}));
  loop.run_once(0);  // nothing ready, nothing posted
  EXPECT_EQ(order.size(), 3u);
  loop.unwatch(fd);
  ::close(fd);
}

// Pollers (the frame rings): a loop asked to stay awake does not sleep; a wait that finds no
// event calls the idle hooks instead of the poll hooks, and the loop sleeps only when none
// of them asked it to stay awake again.
TEST(EventLoop, ALoopAskedToStayAwakeDoesNotSleep) {
  d::EventLoop loop(0);
  bool timed_out = false;
  int polls = 0;
  int idles = 0;
  loop.add_poller(
      [&] {
        if (++polls == 1) loop.stay_awake();
      },
      [&] {
        if (++idles < 4) return loop.stay_awake();
        loop.stop();
      });
  stop_on_tick(loop, timed_out);
  const int fd = ready_fd();
  loop.watch(fd, EPOLLIN, [&](std::uint32_t) { consume(fd); });
  loop.run();
  EXPECT_FALSE(timed_out) << "the loop slept although a poller asked it to stay awake";
  EXPECT_EQ(polls, 1);  // the turn with the event; the waits after it found none
  EXPECT_EQ(idles, 4);
  ::close(fd);
}

TEST(EventLoop, AfterTheIdleHooksTheLoopSleepsUntilAnEvent) {
  d::EventLoop loop(0);
  bool timed_out = false;
  std::vector<std::string> order;
  const int first = ready_fd();
  const int later = idle_fd();
  std::thread writer;
  loop.add_poller(
      [&] {
        order.push_back("poll");
        if (order.size() == 2) loop.stay_awake();  // after the first event
      },
      [&] {
        order.push_back("idle");
        writer = std::thread([later] {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          const std::uint64_t one = 1;
          [[maybe_unused]] auto n = ::write(later, &one, sizeof one);
        });
      });
  stop_on_tick(loop, timed_out);
  loop.watch(first, EPOLLIN, [&](std::uint32_t) {
    consume(first);
    order.push_back("event");
  });
  loop.watch(later, EPOLLIN, [&](std::uint32_t) {
    consume(later);
    order.push_back("later event");
    loop.stop();
  });
  loop.run();
  writer.join();
  EXPECT_FALSE(timed_out);
  EXPECT_EQ(order, (std::vector<std::string>{"event", "poll", "idle", "later event", "poll"}));
  ::close(first);
  ::close(later);
}

// A source that never runs dry, and whose work posts tasks, is polled once per turn: the
// loop still reaches its descriptors.
TEST(EventLoop, APollerThatNeverRunsDryDoesNotStarveTheDescriptors) {
  d::EventLoop loop(0);
  bool timed_out = false;
  int polls = 0;
  const int fd = idle_fd();
  loop.add_poller(
      [&] {
        ++polls;
        loop.stay_awake();
        loop.post([] {});
        if (polls == 1) {
          const std::uint64_t one = 1;
          [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
        }
      },
      [&] { loop.stay_awake(); });
  stop_on_tick(loop, timed_out);
  loop.watch(fd, EPOLLIN, [&](std::uint32_t) {
    consume(fd);
    loop.stop();
  });
  loop.post([] {});  // from this thread: wakes the loop for its first turn
  loop.run();
  EXPECT_FALSE(timed_out);
  EXPECT_EQ(polls, 2);  // the first turn's, and the one with the descriptor's event
  ::close(fd);
}
