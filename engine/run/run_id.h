// Run ids and the clock that stamps them. A run id reads "r20250102-030405-a1b2c3": "r", the UTC
// creation time to the second, and six random hex digits. Ids sort by creation time (to the
// second); uniqueness never rests on the time: a run directory is created with mkdir(2), which
// fails on an existing name, and a taken name is retried with a fresh random suffix. So two
// processes creating runs in the same second in the same directory always get distinct ids.
//
// The clock is an interface so tests pin time (ManualWallClock). It reads calendar time, unlike
// the scheduler's steady Clock (engine/llm/scheduler.h), because ids and timestamps are dates.
// All functions are thread-safe; the WallClock implementations here are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace fapo {

using WallTime = std::chrono::system_clock::time_point;

// Wall-clock time, behind an interface so tests can fix it.
class WallClock {
 public:
  virtual ~WallClock() = default;
  virtual WallTime now() const = 0;
};

// The process-wide real clock (std::chrono::system_clock). Lives forever.
const WallClock& system_wall_clock();

// A clock that only moves when told to. Thread-safe.
class ManualWallClock final : public WallClock {
 public:
  explicit ManualWallClock(WallTime start) { set(start); }
  WallTime now() const override;
  void set(WallTime time);
  void advance(std::chrono::milliseconds step);

 private:
  std::atomic<std::int64_t> micros_since_epoch_{0};
};

// ISO 8601 UTC with milliseconds: "2025-01-02T03:04:05.123Z".
std::string format_timestamp(WallTime time);

// "r" + yyyymmdd-HHMMSS (UTC) + "-" + the low 24 bits of `suffix` as 6 lowercase hex digits.
std::string make_run_id(WallTime created, std::uint32_t suffix);

// True when `text` has exactly the shape make_run_id produces.
bool is_well_formed_run_id(std::string_view text);

// Source of random suffixes; the default draws from std::random_device.
using RandomSource = std::function<std::uint32_t()>;
std::uint32_t random_run_suffix();

// Creates a new directory `runs_dir/<id>` for a run created at `created` and returns the id.
// `runs_dir` must exist. Retries with a new suffix while the name is taken (EEXIST); gives up
// with kIo after 64 attempts, which only a broken random source can cause.
Result<std::string> create_run_dir(const std::filesystem::path& runs_dir, WallTime created,
                                   const RandomSource& random = random_run_suffix);

}  // namespace fapo
