#include "mcp_server/transport/session_table.h"

#include <doctest/doctest.h>

#include <chrono>

namespace fapo::mcp {
namespace {

using std::chrono::seconds;

// A clock the test moves by hand.
struct ManualClock {
  SessionTable::Clock::time_point now{seconds(1000)};
  SessionTable::ClockFunction function() {
    return [this] { return now; };
  }
};

TEST_CASE("a session without requests for the idle timeout expires, one in use does not") {
  ManualClock clock;
  SessionTable table(SessionLimits{8, seconds(60)}, clock.function());
  SessionTable::Ended ended;
  REQUIRE(table.open("idle", ended));
  REQUIRE(table.open("busy", ended));
  REQUIRE(table.begin("busy", ended));  // a long request, still running
  clock.now += seconds(59);
  CHECK(table.expire().empty());
  clock.now += seconds(1);
  CHECK(table.expire() == SessionTable::Ended{"idle"});
  CHECK_FALSE(table.begin("idle", ended));

  clock.now += seconds(600);
  CHECK(table.expire().empty());  // running requests keep a session alive
  table.end("busy");              // idle time counts from here
  clock.now += seconds(59);
  CHECK(table.expire().empty());
  clock.now += seconds(1);
  CHECK(table.expire() == SessionTable::Ended{"busy"});
  CHECK(table.size() == 0);
}

TEST_CASE("begin on an expired session reports it ended and refuses the request") {
  ManualClock clock;
  SessionTable table(SessionLimits{8, seconds(60)}, clock.function());
  SessionTable::Ended ended;
  REQUIRE(table.open("a", ended));
  clock.now += seconds(61);
  CHECK_FALSE(table.begin("a", ended));
  CHECK(ended == SessionTable::Ended{"a"});
  CHECK_FALSE(table.begin("never-opened", ended));
}

TEST_CASE("at the limit a new session evicts the one idle the longest, never a busy one") {
  ManualClock clock;
  SessionTable table(SessionLimits{2, seconds(3600)}, clock.function());
  SessionTable::Ended ended;
  REQUIRE(table.open("old-busy", ended));
  REQUIRE(table.begin("old-busy", ended));
  clock.now += seconds(1);
  REQUIRE(table.open("newer-idle", ended));
  clock.now += seconds(1);
  REQUIRE(table.open("third", ended));
  CHECK(ended == SessionTable::Ended{"newer-idle"});
  CHECK(table.size() == 2);

  REQUIRE(table.begin("third", ended));
  ended.clear();
  CHECK_FALSE(table.open("fourth", ended));  // both sessions have requests running
  CHECK(ended.empty());
  CHECK(table.size() == 2);
  table.end("third");
  CHECK(table.open("fourth", ended));
  CHECK(ended == SessionTable::Ended{"third"});
}

TEST_CASE("erase ends a session once; end after erase is harmless") {
  SessionTable table(SessionLimits{});
  SessionTable::Ended ended;
  REQUIRE(table.open("s", ended));
  REQUIRE(table.begin("s", ended));
  CHECK(table.erase("s"));
  CHECK_FALSE(table.erase("s"));
  table.end("s");
  CHECK(table.size() == 0);
}

}  // namespace
}  // namespace fapo::mcp
