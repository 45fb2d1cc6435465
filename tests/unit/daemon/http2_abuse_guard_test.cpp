// The HTTP/2 abuse budgets (front/http2_abuse_guard.hpp) on an explicit clock. What the
// service does when one is spent is in tests/integration/test_http2_attacks.py.
#include <gtest/gtest.h>

#include "daemon/front/http2_abuse_guard.hpp"

namespace d = httpapi::daemon;
using d::Http2Abuse;
using d::Http2AbuseGuard;

namespace {

// Events of `kind` at `now_ms` until the guard says no; how many it took (at most `limit`).
unsigned until_refused(Http2AbuseGuard& guard, Http2Abuse kind, std::uint64_t now_ms,
                       unsigned limit = 100000) {
  for (unsigned i = 1; i <= limit; ++i) {
    if (!guard.record(kind, now_ms)) return i;
  }
  return 0;
}

}  // namespace

TEST(Http2AbuseGuard, AFloodAtOnceIsRefusedAtItsBurst) {
  for (Http2Abuse kind : {Http2Abuse::ping, Http2Abuse::settings, Http2Abuse::priority,
                          Http2Abuse::empty_data}) {
    Http2AbuseGuard guard(100);
    EXPECT_EQ(until_refused(guard, kind, 5000), Http2AbuseGuard::kFloodBurst);
    EXPECT_TRUE(guard.tripped());
    EXPECT_EQ(guard.tripped_by(), kind);
  }
}

TEST(Http2AbuseGuard, OnceTrippedEverythingIsRefused) {
  Http2AbuseGuard guard(100);
  until_refused(guard, Http2Abuse::ping, 0);
  EXPECT_FALSE(guard.record(Http2Abuse::settings, 1000000));
  EXPECT_EQ(guard.tripped_by(), Http2Abuse::ping);
}

TEST(Http2AbuseGuard, KindsHaveBudgetsOfTheirOwn) {
  Http2AbuseGuard guard(100);
  for (unsigned i = 0; i < Http2AbuseGuard::kFloodBurst - 1; ++i) {
    ASSERT_TRUE(guard.record(Http2Abuse::ping, 0));
    ASSERT_TRUE(guard.record(Http2Abuse::settings, 0));
    ASSERT_TRUE(guard.record(Http2Abuse::priority, 0));
  }
  EXPECT_FALSE(guard.tripped());
}

TEST(Http2AbuseGuard, TheRateDrainsTheBucket) {
  Http2AbuseGuard guard(100);
  // Exactly the rate, for a minute: never refused.
  const std::uint64_t step = 1000 / Http2AbuseGuard::kFloodPerSecond;
  for (std::uint64_t t = 0; t < 60000; t += step) {
    ASSERT_TRUE(guard.record(Http2Abuse::ping, t)) << "at " << t << " ms";
  }
  // Twice the rate fills it by one event per step: refused after about a burst's worth.
  Http2AbuseGuard fast(100);
  unsigned events = 0;
  for (std::uint64_t t = 0; fast.record(Http2Abuse::ping, t * step / 2); ++t) ++events;
  EXPECT_GE(events, Http2AbuseGuard::kFloodBurst);
  EXPECT_LE(events, 2 * Http2AbuseGuard::kFloodBurst + 2);
}

TEST(Http2AbuseGuard, EarlyEndedStreamsAreBoundedByTheConcurrentStreams) {
  for (Http2Abuse kind :
       {Http2Abuse::client_reset, Http2Abuse::stream_error, Http2Abuse::oversized_head}) {
    Http2AbuseGuard guard(10);
    EXPECT_EQ(until_refused(guard, kind, 0), 10u);
  }
  Http2AbuseGuard one(0);  // never below one
  EXPECT_EQ(until_refused(one, Http2Abuse::client_reset, 0), 1u);
  Http2AbuseGuard many(0x7fffffff);
  EXPECT_EQ(until_refused(many, Http2Abuse::client_reset, 0), Http2AbuseGuard::kMaxStreamBudget);
}

TEST(Http2AbuseGuard, CompletedStreamsEarnEarlyEndsBack) {
  Http2AbuseGuard guard(10);
  // One reset for every completed stream, a thousand times: a browser cancelling some of its
  // requests, never cut off.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(guard.record(Http2Abuse::client_reset, 0));
    guard.stream_completed();
  }
  // A completion is not banked ahead of resets.
  for (int i = 0; i < 100; ++i) guard.stream_completed();
  EXPECT_EQ(until_refused(guard, Http2Abuse::client_reset, 0), 10u);
}

TEST(Http2AbuseGuard, EarlyEndsComeBackOneASecond) {
  Http2AbuseGuard guard(10);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(guard.record(Http2Abuse::client_reset, 0));
  // A reset a second on top of nine never spends the tenth.
  for (std::uint64_t t = 1000; t < 100000; t += 1000) {
    ASSERT_TRUE(guard.record(Http2Abuse::client_reset, t)) << "at " << t << " ms";
  }
  EXPECT_FALSE(guard.record(Http2Abuse::client_reset, 99000));
}

TEST(Http2AbuseGuard, LogReasonsNameTheAttack) {
  EXPECT_EQ(Http2AbuseGuard::log_reason(Http2Abuse::client_reset), "HTTP2_Rapid_Reset");
  EXPECT_EQ(Http2AbuseGuard::log_reason(Http2Abuse::stream_error), "HTTP2_MadeYouReset");
  EXPECT_EQ(Http2AbuseGuard::log_reason(Http2Abuse::ping), "HTTP2_PING_Flood");
  for (std::size_t i = 0; i < d::kHttp2AbuseKinds; ++i) {
    const std::string_view reason = Http2AbuseGuard::log_reason(static_cast<Http2Abuse>(i));
    EXPECT_EQ(reason.find(' '), std::string_view::npos) << reason;  // one httperr field
    EXPECT_NE(reason, "HTTP2_Abuse");
  }
}
