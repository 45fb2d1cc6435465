// The drain's phases against an explicit clock, with actions that record what the service
// would have done. The wire behaviour (health URL, Connection: close, GOAWAY, listeners
// closing) is in tests/integration/test_drain.py.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "daemon/drain/drain.hpp"
#include "httpapi/httpapi.h"

namespace d = httpapi::daemon;

namespace {

struct Recorder {
  int stopped = 0;
  int closed = 0;
  std::size_t connections = 2;
  std::size_t in_flight = 1;
  d::Drain::Actions actions() {
    return {[this] { ++stopped; }, [this] { ++closed; }, [this] { return connections; },
            [this] { return in_flight; }};
  }
};

}  // namespace

TEST(Drain, GraceThenClosingThenDrained) {
  Recorder r;
  d::Drain drain(r.actions());
  std::string detail;
  EXPECT_FALSE(drain.draining());
  ASSERT_EQ(drain.begin(10, 30, 1000, detail), HTTPAPI_OK) << detail;
  EXPECT_TRUE(drain.draining());
  EXPECT_EQ(drain.phase(), d::Drain::Phase::grace);
  EXPECT_EQ(drain.describe(4000)["seconds_left"], 7);
  EXPECT_EQ(drain.status(4000), "draining (grace, 7 s left)");
  drain.tick(10999);
  EXPECT_EQ(r.stopped, 0);
  drain.tick(11000);
  EXPECT_EQ(r.stopped, 1);
  EXPECT_EQ(drain.phase(), d::Drain::Phase::closing);
  drain.tick(12000);
  EXPECT_EQ(r.stopped, 1);  // once
  drain.all_connections_gone();
  EXPECT_EQ(drain.phase(), d::Drain::Phase::drained);
  EXPECT_TRUE(drain.draining());  // the health URL stays 503
  drain.tick(100000);
  EXPECT_EQ(r.closed, 0);  // nothing left to close
  EXPECT_EQ(drain.describe(100000)["state"], "drained");
}

TEST(Drain, TimeoutClosesWhatIsLeftAndCountsIt) {
  Recorder r;
  d::Drain drain(r.actions());
  std::string detail;
  ASSERT_EQ(drain.begin(0, 5, 0, detail), HTTPAPI_OK);
  EXPECT_EQ(r.stopped, 1);  // no grace: at once
  drain.tick(4999);
  EXPECT_EQ(r.closed, 0);
  drain.tick(5000);
  EXPECT_EQ(r.closed, 1);
  drain.tick(6000);
  EXPECT_EQ(r.closed, 1);
  drain.closed_at_timeout(2);
  drain.all_connections_gone();
  const auto state = drain.describe(7000);
  EXPECT_EQ(state["state"], "drained");
  EXPECT_EQ(state["closed_at_timeout"], 2);
}

TEST(Drain, ResumeOnlyDuringTheGracePeriod) {
  Recorder r;
  d::Drain drain(r.actions());
  std::string detail;
  EXPECT_EQ(drain.resume(detail), HTTPAPI_ERROR_INVALID_STATE);
  EXPECT_NE(detail.find("not draining"), std::string::npos) << detail;
  ASSERT_EQ(drain.begin(10, 30, 0, detail), HTTPAPI_OK);
  ASSERT_EQ(drain.resume(detail), HTTPAPI_OK);
  EXPECT_FALSE(drain.draining());
  EXPECT_EQ(drain.phase(), d::Drain::Phase::serving);
  drain.tick(60000);
  EXPECT_EQ(r.stopped, 0);  // the grace timer went with the drain
  ASSERT_EQ(drain.begin(1, 30, 60000, detail), HTTPAPI_OK);  // a second drain may follow
  drain.tick(61000);
  EXPECT_EQ(drain.resume(detail), HTTPAPI_ERROR_INVALID_STATE);
  EXPECT_NE(detail.find("restart"), std::string::npos) << detail;
}

TEST(Drain, RefusesASecondDrainAndAbsurdDurations) {
  Recorder r;
  d::Drain drain(r.actions());
  std::string detail;
  EXPECT_EQ(drain.begin(d::Drain::kMaxSeconds + 1, 30, 0, detail),
            HTTPAPI_ERROR_INVALID_PARAMETER);
  EXPECT_NE(detail.find("--grace"), std::string::npos) << detail;
  EXPECT_EQ(drain.begin(10, 0, 0, detail), HTTPAPI_ERROR_INVALID_PARAMETER);
  EXPECT_FALSE(drain.draining());
  ASSERT_EQ(drain.begin(10, 30, 0, detail), HTTPAPI_OK);
  EXPECT_EQ(drain.begin(10, 30, 3000, detail), HTTPAPI_ERROR_INVALID_STATE);
  EXPECT_NE(detail.find("already running (7 s of grace left)"), std::string::npos) << detail;
}
