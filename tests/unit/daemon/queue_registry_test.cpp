// QueueRegistry: creating and opening queues by name under their access rules, and the last
// handle ending a queue, over real channels.
#include "daemon/control/queue_registry.hpp"

#include "control_fixture.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::daemon {
namespace {

class QueueRegistryTest : public testing::ControlFixture {
 protected:
  QueueRegistry queues_;
};

TEST_F(QueueRegistryTest, OpensANamedQueueForItsOwnerAndCountsHandles) {
  auto& creator = connect(1000);
  auto& opener = connect(1000);
  const auto created = queues_.create(*creator.channel, "orders", 0, 100);
  ASSERT_EQ(created.status, HTTPAPI_OK) << created.detail;
  const auto opened =
      queues_.create(*opener.channel, "orders", HTTPAPI_QUEUE_FLAG_OPEN_EXISTING, 100);
  ASSERT_EQ(opened.status, HTTPAPI_OK) << opened.detail;
  EXPECT_EQ(opened.queue, created.queue);
  EXPECT_EQ(created.queue->handles, 2u);
  EXPECT_EQ(created.queue->receivers().size(), 2u);
  EXPECT_EQ(queues_.queue_of(*opener.channel), created.queue);
  EXPECT_EQ(queues_.handles_of(created.queue->id()).size(), 2u);
}

TEST_F(QueueRegistryTest, GivesAHandleOneQueue) {
  auto& handle = connect(1000);
  ASSERT_EQ(queues_.create(*handle.channel, "", 0, 100).status, HTTPAPI_OK);
  EXPECT_EQ(queues_.create(*handle.channel, "", 0, 100).status, HTTPAPI_ERROR_INVALID_STATE);
}

TEST_F(QueueRegistryTest, ChecksNames) {
  auto& handle = connect(1000);
  EXPECT_EQ(queues_.create(*handle.channel, "a b", 0, 100).status,
            HTTPAPI_ERROR_INVALID_PARAMETER);
  EXPECT_EQ(queues_.create(*handle.channel, "", HTTPAPI_QUEUE_FLAG_OPEN_EXISTING, 100).status,
            HTTPAPI_ERROR_INVALID_PARAMETER);
  EXPECT_EQ(queues_.create(*handle.channel, "missing", HTTPAPI_QUEUE_FLAG_OPEN_EXISTING, 100)
                .status,
            HTTPAPI_ERROR_NOT_FOUND);
  ASSERT_EQ(queues_.create(*handle.channel, "taken", 0, 100).status, HTTPAPI_OK);
  auto& other = connect(1000);
  EXPECT_EQ(queues_.create(*other.channel, "taken", 0, 100).status,
            HTTPAPI_ERROR_ALREADY_EXISTS);
}

TEST_F(QueueRegistryTest, OpensAnotherUsersQueueOnlyWhenAllowed) {
  auto& owner = connect(1000);
  auto& stranger = connect(1001, 2001);
  const auto created = queues_.create(*owner.channel, "orders", 0, 100);
  ASSERT_EQ(created.status, HTTPAPI_OK);
  EXPECT_EQ(queues_.create(*stranger.channel, "orders", HTTPAPI_QUEUE_FLAG_OPEN_EXISTING, 100)
                .status,
            HTTPAPI_ERROR_ACCESS_DENIED);
  created.queue->allowed_gids.push_back(2001);
  EXPECT_EQ(queues_.create(*stranger.channel, "orders", HTTPAPI_QUEUE_FLAG_OPEN_EXISTING, 100)
                .status,
            HTTPAPI_OK);
  auto& root = connect(0);
  EXPECT_EQ(queues_.create(*root.channel, "orders", HTTPAPI_QUEUE_FLAG_OPEN_EXISTING, 100).status,
            HTTPAPI_OK);
}

TEST_F(QueueRegistryTest, TheLastHandleEndsAQueueUnlessItIsPersistent) {
  auto& creator = connect(1000);
  auto& opener = connect(1000);
  const auto created = queues_.create(*creator.channel, "orders", 0, 100);
  queues_.create(*opener.channel, "orders", HTTPAPI_QUEUE_FLAG_OPEN_EXISTING, 100);
  EXPECT_FALSE(queues_.release(*opener.channel).ends);
  EXPECT_EQ(created.queue->receivers().size(), 1u);
  const auto last = queues_.release(*creator.channel);
  EXPECT_TRUE(last.ends);
  EXPECT_EQ(last.queue, created.queue);

  auto& keeper = connect(1000);
  const auto persistent =
      queues_.create(*keeper.channel, "kept", HTTPAPI_QUEUE_FLAG_PERSISTENT, 100);
  EXPECT_FALSE(queues_.release(*keeper.channel).ends);
  EXPECT_EQ(queues_.find(persistent.queue->id()), persistent.queue);
}

TEST_F(QueueRegistryTest, AHandleRemembersAQueueThatWasErased) {
  auto& handle = connect(1000);
  const std::uint64_t id = queues_.create(*handle.channel, "orders", 0, 100).queue->id();
  queues_.erase(id);
  EXPECT_EQ(queues_.queue_of(*handle.channel), nullptr);
  EXPECT_EQ(queues_.queue_id_of(*handle.channel), id);  // "the queue is shut down"
  EXPECT_EQ(queues_.create(*handle.channel, "", 0, 100).status, HTTPAPI_ERROR_INVALID_STATE);
  auto& other = connect(1000);
  EXPECT_EQ(queues_.create(*other.channel, "orders", 0, 100).status, HTTPAPI_OK);  // name free
}

TEST_F(QueueRegistryTest, AControllerDoesNotReceive) {
  auto& controller = connect(1000);
  const auto created =
      queues_.create(*controller.channel, "ctl", HTTPAPI_QUEUE_FLAG_CONTROLLER, 100);
  ASSERT_EQ(created.status, HTTPAPI_OK);
  EXPECT_TRUE(created.queue->receivers().empty());
  EXPECT_EQ(created.queue->handles, 1u);
}

}  // namespace
}  // namespace httpapi::daemon
