#include "engine/run/run_id.h"

#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "tests/test_support.h"

namespace fapo {
namespace {

using namespace std::chrono_literals;

// 2025-01-02T03:04:05.123Z
WallTime sample_time() { return WallTime(std::chrono::seconds(1735787045)) + 123ms; }

TEST_CASE("formats run ids from the UTC creation second and a 24-bit suffix") {
  CHECK(make_run_id(sample_time(), 0xabcd) == "r20250102-030405-00abcd");
  CHECK(make_run_id(sample_time(), 0xff123456) == "r20250102-030405-123456");
  CHECK(is_well_formed_run_id(make_run_id(sample_time(), random_run_suffix())));
  CHECK_FALSE(is_well_formed_run_id("r20250102-030405-00ABCD"));
  CHECK_FALSE(is_well_formed_run_id("r20250102_030405-00abcd"));
}

TEST_CASE("run ids sort by creation time across seconds") {
  std::string earlier = make_run_id(sample_time(), 0xffffff);
  std::string later = make_run_id(sample_time() + 1s, 0);
  CHECK(earlier < later);
}

TEST_CASE("formats timestamps as ISO 8601 UTC with milliseconds") {
  CHECK(format_timestamp(sample_time()) == "2025-01-02T03:04:05.123Z");
}

TEST_CASE("a manual clock moves only when told") {
  ManualWallClock clock(sample_time());
  CHECK(clock.now() == sample_time());
  clock.advance(250ms);
  CHECK(clock.now() == sample_time() + 250ms);
  clock.set(sample_time());
  CHECK(clock.now() == sample_time());
}

TEST_CASE("retries with a new suffix when the run directory already exists") {
  testing::TempDir temp;
  std::vector<std::uint32_t> draws = {7, 7, 8};
  std::size_t next = 0;
  RandomSource scripted = [&] { return draws.at(next++); };
  auto first = create_run_dir(temp.path(), sample_time(), scripted);
  auto second = create_run_dir(temp.path(), sample_time(), scripted);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(*first == "r20250102-030405-000007");
  CHECK(*second == "r20250102-030405-000008");
  CHECK(next == 3);
  CHECK(std::filesystem::is_directory(temp.path() / *second));
}

TEST_CASE("gives up with an error when every suffix is taken") {
  testing::TempDir temp;
  RandomSource stuck = [] { return 42u; };
  REQUIRE(create_run_dir(temp.path(), sample_time(), stuck).ok());
  auto again = create_run_dir(temp.path(), sample_time(), stuck);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ErrorCode::kIo);
  CHECK(again.error().message.find("no free run id") != std::string::npos);
}

TEST_CASE("creates 1,000 distinct run directories within one second") {
  testing::TempDir temp;
  ManualWallClock clock(sample_time());
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto id = create_run_dir(temp.path(), clock.now());
    REQUIRE(id.ok());
    CHECK(id->rfind("r20250102-030405-", 0) == 0);
    ids.insert(*id);
  }
  CHECK(ids.size() == 1000);
  std::size_t dirs = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(temp.path()))
    ++dirs;
  CHECK(dirs == 1000);
}

TEST_CASE("reports a runs directory that does not exist") {
  testing::TempDir temp;
  auto id = create_run_dir(temp.path() / "missing", sample_time());
  REQUIRE_FALSE(id.ok());
  CHECK(id.error().code == ErrorCode::kIo);
  CHECK(id.error().message.find("cannot create run directory") != std::string::npos);
}

}  // namespace
}  // namespace fapo
