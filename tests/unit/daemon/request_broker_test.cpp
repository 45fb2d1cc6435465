// RequestBroker: which handle holds which request. Requests wait in their queue until a handle
// asks for them, go only to handles with credits, and come back to the queue when a handle
// goes before application code saw them. Real parts and channels; the I/O side is
// not involved (these paths never reach an I/O thread).
#include "daemon/control/request_broker.hpp"

#include <algorithm>

#include "control_fixture.hpp"
#include "daemon/cache/cache_calls.hpp"
#include "daemon/cache/fragment_cache.hpp"
#include "daemon/cache/response_cache.hpp"
#include "daemon/control/queue_registry.hpp"
#include "daemon/control/url_groups.hpp"
#include "daemon/control/url_namespace.hpp"
#include "daemon/logging/access_log.hpp"
#include "daemon/loop/io_worker.hpp"
#include "daemon/policy/settings.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::daemon {
namespace {

using ipc::Type;

class RequestBrokerTest : public testing::ControlFixture {
 protected:
  // A handle of user 1000 on the queue "orders", created by the first one.
  testing::Application& handle() {
    auto& app = connect(1000);
    const auto result = queues_.create(*app.channel, "orders",
                                       queue_ ? HTTPAPI_QUEUE_FLAG_OPEN_EXISTING : 0u, 100);
    EXPECT_EQ(result.status, HTTPAPI_OK) << result.detail;
    queue_ = result.queue;
    return app;
  }

  void submit(std::uint64_t id) {
    const std::string address(ipc::kSockaddrSize, '\0');
    ipc::Request request;
    request.request = id;
    request.local_address = address;
    request.remote_address = address;
    request.method = "GET";
    InboundRequest inbound{id, queue_->id(), 0, 1, {}, 120};
    ASSERT_TRUE(ipc::encode(inbound.frame, request));
    broker_.submit(std::move(inbound));
  }

  void receive(testing::Application& app, std::uint32_t credits) {
    broker_.on_receive(*app.channel, frame_of(ipc::Receive{credits})->frame);
  }

  // The requests handed to `app` since the last look, in order.
  std::vector<std::uint64_t> requests_to(testing::Application& app) {
    std::vector<std::uint64_t> ids;
    for (const auto& [type, tag] : received(app)) {
      if (type == Type::request) ids.push_back(tag);
    }
    return ids;
  }

  QueueRegistry queues_;
  UrlNamespace names_;
  ResponseCache cache_;
  FragmentCache fragments_;
  Settings settings_;
  std::vector<std::unique_ptr<IoWorker>> workers_;  // none: nothing here reaches one
  AccessLog access_log_{::testing::TempDir() + "/broker-access", 16};
  UrlGroups groups_{queues_, names_, cache_, access_log_, workers_,
                    [] { return std::vector<std::string>(); }};
  CacheCalls cache_calls_{cache_, fragments_, queues_, groups_, settings_};
  RequestBroker broker_{queues_, cache_calls_, workers_};
  RequestQueue* queue_ = nullptr;
};

TEST_F(RequestBrokerTest, RequestsWaitUntilAHandleAsks) {
  auto& app = handle();
  submit(1);
  submit(2);
  EXPECT_EQ(queue_->length(), 2u);
  EXPECT_EQ(broker_.in_flight(), 2u);
  EXPECT_TRUE(requests_to(app).empty());

  receive(app, 1);
  EXPECT_EQ(requests_to(app), std::vector<std::uint64_t>{1});
  EXPECT_EQ(broker_.held_by(*app.channel), 1u);
  EXPECT_EQ(queue_->length(), 1u);

  submit(3);  // no credit left: it waits behind 2
  receive(app, 5);
  EXPECT_EQ(requests_to(app), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(broker_.held_by(*app.channel), 3u);
  EXPECT_EQ(queue_->length(), 0u);
}

TEST_F(RequestBrokerTest, OnlyHandlesWithCreditsGetRequests) {
  auto& idle = handle();
  auto& busy = handle();
  receive(busy, 2);
  for (std::uint64_t id = 1; id <= 3; ++id) submit(id);
  EXPECT_TRUE(requests_to(idle).empty());
  EXPECT_EQ(requests_to(busy), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(queue_->length(), 1u);  // 3 waits for a credit
  receive(idle, 1);
  EXPECT_EQ(requests_to(idle), std::vector<std::uint64_t>{3});
}

// Two processes with credits take turns at requests that arrive one at a time, whether or
// not the one that got a request asks again right after (its credits then arrive to an empty
// queue): neither a dispatch that finds the queue empty nor the ask moves the turn on.
TEST_F(RequestBrokerTest, ProcessesWithCreditsTakeTurnsAtRequestsArrivingOneByOne) {
  auto& first = handle();
  auto& second = handle();
  receive(first, 64);
  receive(second, 64);
  for (const bool asks_again : {false, true}) {
    std::vector<std::uint64_t> to_first, to_second;
    for (std::uint64_t id = 1; id <= 6; ++id) {
      submit(id + (asks_again ? 10 : 0));
      const auto got_first = requests_to(first);
      const auto got_second = requests_to(second);
      to_first.insert(to_first.end(), got_first.begin(), got_first.end());
      to_second.insert(to_second.end(), got_second.begin(), got_second.end());
      if (asks_again) receive(got_first.empty() ? second : first, 1);
    }
    const std::uint64_t base = asks_again ? 10 : 0;
    EXPECT_EQ(to_first, (std::vector<std::uint64_t>{base + 1, base + 3, base + 5})) << asks_again;
    EXPECT_EQ(to_second, (std::vector<std::uint64_t>{base + 2, base + 4, base + 6})) << asks_again;
  }
}

TEST_F(RequestBrokerTest, AClientThatLeavesEndsTheRequestWhereverItIs) {
  auto& app = handle();
  receive(app, 1);
  submit(1);  // handed over
  submit(2);  // waiting
  EXPECT_EQ(requests_to(app), std::vector<std::uint64_t>{1});

  broker_.request_gone(2);
  EXPECT_EQ(queue_->length(), 0u);
  broker_.request_gone(1);
  const auto told = received(app);
  EXPECT_NE(std::find(told.begin(), told.end(), std::pair{Type::request_gone, std::uint64_t{1}}),
            told.end());
  EXPECT_EQ(broker_.held_by(*app.channel), 0u);
  EXPECT_EQ(broker_.in_flight(), 0u);

  broker_.request_gone(1);  // once only
  EXPECT_TRUE(received(app).empty());
}

TEST_F(RequestBrokerTest, RequestsNotSeenGoBackToTheFrontOfTheQueueWhenTheirHandleGoes) {
  auto& leaving = handle();
  auto& staying = handle();
  receive(leaving, 2);
  submit(1);
  submit(2);
  submit(3);
  EXPECT_EQ(requests_to(leaving), (std::vector<std::uint64_t>{1, 2}));

  broker_.release(*leaving.channel, queue_);
  queues_.release(*leaving.channel);
  EXPECT_EQ(broker_.held_by(*leaving.channel), 0u);
  EXPECT_EQ(broker_.in_flight(), 3u);
  receive(staying, 3);
  EXPECT_EQ(requests_to(staying), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST_F(RequestBrokerTest, AHandleWhoseWritesFailedTakesNoMoreRequests) {
  auto& broken = handle();
  auto& healthy = handle();
  receive(broken, 5);
  ::close(broken.fd);  // the application is gone; its channel does not know yet
  broken.fd = -1;
  submit(1);
  broken.channel->flush();  // the write fails
  EXPECT_FALSE(broken.channel->writable());
  receive(healthy, 5);
  submit(2);
  EXPECT_EQ(requests_to(healthy), std::vector<std::uint64_t>{2});
  EXPECT_EQ(broker_.held_by(*broken.channel), 1u);
}

}  // namespace
}  // namespace httpapi::daemon
