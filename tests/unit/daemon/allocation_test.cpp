// Allocations on the request path, counted: the parts of httpapid a keep-alive request passes
// through on the service loop allocate nothing once they are warm (bench/RESULTS.md,
// "Allocations per request"). This program replaces the global operator new to count the
// allocations of the calling thread; real loops, channels and broker, nothing mocked.
#include <cstdlib>
#include <new>

#include <array>
#include <cstddef>
#include <string>

#include <gtest/gtest.h>

#include "control_fixture.hpp"
#include "daemon/cache/cache_calls.hpp"
#include "daemon/cache/fragment_cache.hpp"
#include "daemon/cache/response_cache.hpp"
#include "daemon/control/queue_registry.hpp"
#include "daemon/control/request_broker.hpp"
#include "daemon/control/url_groups.hpp"
#include "daemon/control/url_namespace.hpp"
#include "daemon/logging/access_log.hpp"
#include "daemon/loop/event_loop.hpp"
#include "daemon/loop/hand_off_buffers.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/policy/settings.hpp"
#include "httpapi/httpapi.h"

namespace {
thread_local std::size_t t_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  ++t_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace httpapi::daemon {
namespace {

// Allocations `work` makes on this thread.
template <typename Work>
std::size_t allocations_of(Work work) {
  const std::size_t before = t_allocations;
  work();
  return t_allocations - before;
}

// A task as large as a response's hand-over to its I/O thread (part, attachments, ids).
TEST(Allocations, TasksOfARequestsSizeCostNoAllocationOnceTheLoopIsWarm) {
  EventLoop loop(0);
  loop.run_once(0);  // this thread owns the loop from now on
  int ran = 0;
  auto post_some = [&] {
    for (int i = 0; i < 64; ++i) {
      std::array<char, 160> payload{};
      payload[0] = 1;
      loop.post([&ran, payload] { ran += payload[0]; });
    }
    loop.run_once(0);
  };
  // The queued and the running vectors trade places at every run: both grow once.
  post_some();
  post_some();
  EXPECT_EQ(allocations_of(post_some), 0u);
  EXPECT_EQ(ran, 192);
}

TEST(Allocations, HandOffBuffersComeBackWithTheirCapacity) {
  HandOffBuffers buffers;
  std::string frame = buffers.take();
  frame.assign(300, 'f');
  const char* memory = frame.data();
  buffers.give(std::move(frame));
  std::string again;
  EXPECT_EQ(allocations_of([&] { again = buffers.take(); }), 0u);
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(again.data(), memory) << "the same block, not a new one";
  again.assign(BufferPool::kLargest + 1, 'x');
  buffers.give(std::move(again));
  EXPECT_EQ(buffers.take().capacity(), std::string().capacity()) << "a large one is freed";
}

class BrokerAllocations : public testing::ControlFixture {
 protected:
  InboundRequest request(std::uint64_t id) {
    const std::string address(ipc::kSockaddrSize, '\0');
    ipc::Request m;
    m.request = id;
    m.local_address = address;
    m.remote_address = address;
    m.method = "GET";
    InboundRequest inbound{id, queue_->id(), 0, 1, {}, 120};
    EXPECT_TRUE(ipc::encode(inbound.frame, m));
    return inbound;
  }

  QueueRegistry queues_;
  UrlNamespace names_;
  ResponseCache cache_;
  FragmentCache fragments_;
  Settings settings_;
  std::vector<std::unique_ptr<IoWorker>> workers_;  // none: these paths never reach one
  AccessLog access_log_{::testing::TempDir() + "/allocation-access", 16};
  UrlGroups groups_{queues_, names_, cache_, access_log_, workers_,
                    [] { return std::vector<std::string>(); }};
  CacheCalls cache_calls_{cache_, fragments_, queues_, groups_, settings_};
  RequestBroker broker_{queues_, cache_calls_, workers_};
  RequestQueue* queue_ = nullptr;
};

// A request submitted, handed to the handle that asked for it and ended, many times over:
// the broker's records of it reuse the nodes of the requests before. (Two std::deques, the
// queue's and the handle's list of requests application code has not seen, each take a
// block every 64 requests; before the nodes were reused it was two allocations a request.)
TEST_F(BrokerAllocations, ARequestInFlightCostsTheBrokerNoAllocation) {
  auto& app = connect(1000);
  const auto created = queues_.create(*app.channel, "orders", 0, 100);
  ASSERT_EQ(created.status, HTTPAPI_OK) << created.detail;
  queue_ = created.queue;
  const auto credit = frame_of(ipc::Receive{1});
  std::uint64_t id = 0;
  auto cycle = [&](std::size_t requests) {
    std::size_t allocations = 0;
    for (std::size_t i = 0; i < requests; ++i) {
      InboundRequest inbound = request(++id);
      allocations += allocations_of([&] {
        broker_.submit(std::move(inbound));
        broker_.on_receive(*app.channel, credit->frame);
        broker_.request_gone(id);
      });
      if (i % 16 == 15) received(app);  // the application reads what it was sent
    }
    received(app);
    return allocations;
  };
  cycle(64);
  EXPECT_EQ(broker_.in_flight(), 0u);
  EXPECT_LE(cycle(640), 2u * 640 / 64 + 2) << "at most the deques' blocks";
}

}  // namespace
}  // namespace httpapi::daemon
