// The arithmetic of the URL group limits: the bandwidth token bucket and the minimum send
// rate driven by an explicit clock, the property ranges, timer overrides and the connection count. The wire behaviour
// is in tests/integration/test_timers_limits.py.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <string>

#include "daemon/policy/bandwidth_limit.hpp"
#include "daemon/policy/group_limits.hpp"
#include "daemon/policy/handshake_limit.hpp"
#include "daemon/policy/min_send_rate.hpp"
#include "daemon/policy/timers.hpp"
#include "httpapi/httpapi.h"

namespace d = httpapi::daemon;

TEST(BandwidthLimit, UnlimitedGrantsEverything) {
  d::BandwidthLimit limit;
  EXPECT_FALSE(limit.limited());
  EXPECT_EQ(limit.take(1 << 20, 1000), 1u << 20);
}

TEST(BandwidthLimit, OneSecondBurstThenTheRate) {
  d::BandwidthLimit limit;
  limit.set_rate(16384);
  ASSERT_TRUE(limit.limited());
  EXPECT_EQ(limit.take(65536, 1000), 16384u);  // the burst
  EXPECT_EQ(limit.take(65536, 1000), 0u);
  EXPECT_EQ(limit.wait_ms(65536, 1000), 100u);  // a tenth of a second's worth
  EXPECT_EQ(limit.take(65536, 1250), 4096u);    // 250 ms at 16 KiB/s
  EXPECT_EQ(limit.take(65536, 11250), 16384u);  // never more than a second saved up
}

TEST(BandwidthLimit, UnsentAllowanceComesBack) {
  d::BandwidthLimit limit;
  limit.set_rate(2048);
  EXPECT_EQ(limit.take(2048, 5), 2048u);
  limit.give_back(1000);
  EXPECT_EQ(limit.take(4096, 5), 1000u);
}

TEST(BandwidthLimit, RemovingTheLimit) {
  d::BandwidthLimit limit;
  limit.set_rate(1024);
  limit.set_rate(d::kUnlimited);
  EXPECT_FALSE(limit.limited());
  EXPECT_EQ(limit.take(100000, 0), 100000u);
}

TEST(GroupLimits, TimersFallBackToTheServerWide) {
  d::GroupLimits group;
  d::Timers server;
  server.entity_body = 30;
  std::string error;
  ASSERT_TRUE(group.set(HTTPAPI_GROUP_DRAIN_ENTITY_BODY_TIMEOUT, 5, error)) << error;
  ASSERT_TRUE(group.set(HTTPAPI_GROUP_MIN_SEND_RATE, HTTPAPI_LIMIT_INFINITE, error)) << error;
  const d::Timers merged = group.timers(server);
  EXPECT_EQ(merged.entity_body, 30u);
  EXPECT_EQ(merged.drain_entity_body, 5u);
  EXPECT_EQ(merged.header_wait, 120u);
  EXPECT_EQ(merged.min_send_rate, d::kUnlimited);
  ASSERT_TRUE(group.set(HTTPAPI_GROUP_DRAIN_ENTITY_BODY_TIMEOUT, 0, error));  // back to server
  EXPECT_EQ(group.timers(server).drain_entity_body, 120u);
}

TEST(GroupLimits, OutOfRangeValuesAreRefusedWithTheRange) {
  d::GroupLimits group;
  std::string error;
  EXPECT_FALSE(group.set(HTTPAPI_GROUP_HEADER_WAIT_TIMEOUT, 65536, error));
  EXPECT_NE(error.find("65535"), std::string::npos) << error;
  EXPECT_FALSE(group.set(HTTPAPI_GROUP_MAX_BANDWIDTH, 1023, error));
  EXPECT_NE(error.find("1024"), std::string::npos) << error;
  EXPECT_FALSE(group.set(HTTPAPI_GROUP_MAX_CONNECTIONS, 0, error));
  EXPECT_FALSE(group.set(HTTPAPI_GROUP_MIN_SEND_RATE, 1ull << 32, error));
  EXPECT_FALSE(group.set(99, 1, error));
  EXPECT_NE(error.find("99"), std::string::npos) << error;
  EXPECT_TRUE(group.set(HTTPAPI_GROUP_MAX_BANDWIDTH, 1024, error));
}

TEST(GroupLimits, ConnectionLimitAtNAndNPlusOne) {
  d::GroupLimits group;
  std::string error;
  ASSERT_TRUE(group.set(HTTPAPI_GROUP_MAX_CONNECTIONS, 2, error));
  EXPECT_TRUE(group.try_add_connection());
  EXPECT_TRUE(group.try_add_connection());
  EXPECT_FALSE(group.try_add_connection());
  group.remove_connection();
  EXPECT_TRUE(group.try_add_connection());
  ASSERT_TRUE(group.set(HTTPAPI_GROUP_MAX_CONNECTIONS, HTTPAPI_LIMIT_INFINITE, error));
  EXPECT_TRUE(group.try_add_connection());
}

TEST(MinSendRate, AClientThatTakesEverythingOwesNothing) {
  d::MinSendRate rate;
  rate.took_everything();
  EXPECT_FALSE(rate.too_slow(150, 1 << 20, 1000000));
}

TEST(MinSendRate, AStalledClientMayFallBehindByOnePieceAndNoMore) {
  d::MinSendRate rate;
  rate.refused(1000);
  // 150 B/s for 400 s is 60,000 bytes: less than the 64 KiB piece it waits for.
  EXPECT_FALSE(rate.too_slow(150, 1 << 20, 401000));
  // 40 s more is 66,000 bytes behind: past one piece.
  EXPECT_TRUE(rate.too_slow(150, 1 << 20, 441000));
}

TEST(MinSendRate, BytesTakenPayTheDebtBack) {
  d::MinSendRate rate;
  rate.refused(0);
  rate.sent(150 * 400);
  EXPECT_FALSE(rate.too_slow(150, 1 << 20, 400000));  // kept pace exactly
  rate.sent(100);
  EXPECT_FALSE(rate.too_slow(150, 1 << 20, 401000));  // 50 bytes behind
}

TEST(MinSendRate, ReadingFastBeforeAStallSavesNothingUp) {
  d::MinSendRate rate;
  rate.sent(1 << 30);  // fast, while not stalled: not counted
  rate.refused(0);
  EXPECT_TRUE(rate.too_slow(150, 1 << 20, 450000));
}

TEST(MinSendRate, ASmallPieceOrAHighRateSetsTheAllowance) {
  d::MinSendRate small;
  small.refused(0);
  EXPECT_TRUE(small.too_slow(150, 100, 2000));  // 300 bytes behind, on a 150-byte allowance
  d::MinSendRate fast;
  fast.refused(0);
  EXPECT_FALSE(fast.too_slow(100000, 100, 1000));  // one second's worth is allowed
  EXPECT_TRUE(fast.too_slow(100000, 100, 2100));
}

TEST(MinSendRate, UnlimitedIsNeverTooSlow) {
  d::MinSendRate rate;
  rate.refused(0);
  EXPECT_FALSE(rate.too_slow(d::kUnlimited, 1 << 20, 100000000));
}

namespace httpapi::daemon {
namespace {

sockaddr_storage address_of(const char* text) {
  sockaddr_storage storage{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in&>(storage).sin_addr) == 1) {
    storage.ss_family = AF_INET;
  } else {
    inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6&>(storage).sin6_addr);
    storage.ss_family = AF_INET6;
  }
  return storage;
}

TEST(HandshakeLimit, EachSourceHoldsAtMostTheLimitUntilSlotsAreReleased) {
  HandshakeLimit limit;
  HandshakeLimit::Slot a, b, c, other;
  EXPECT_TRUE(limit.try_take(address_of("192.0.2.1"), 2, a));
  EXPECT_TRUE(limit.try_take(address_of("::ffff:192.0.2.1"), 2, b));  // the same source
  EXPECT_FALSE(limit.try_take(address_of("192.0.2.1"), 2, c));
  EXPECT_TRUE(limit.try_take(address_of("192.0.2.2"), 2, other));
  a.release();
  EXPECT_EQ(limit.in_progress(address_of("192.0.2.1")), 1u);
  EXPECT_TRUE(limit.try_take(address_of("192.0.2.1"), 2, c));
  {
    HandshakeLimit::Slot moved = std::move(c);  // a move carries the count, not a copy
  }
  EXPECT_EQ(limit.in_progress(address_of("192.0.2.1")), 1u);
}

TEST(HandshakeLimit, AnIpv6SourceIsItsSlash64) {
  HandshakeLimit limit;
  HandshakeLimit::Slot a, b;
  EXPECT_TRUE(limit.try_take(address_of("2001:db8:1:2::1"), 1, a));
  EXPECT_FALSE(limit.try_take(address_of("2001:db8:1:2:ffff::9"), 1, b));
  EXPECT_TRUE(limit.try_take(address_of("2001:db8:1:3::1"), 1, b));
}

}  // namespace
}  // namespace httpapi::daemon
