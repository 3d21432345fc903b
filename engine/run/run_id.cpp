#include "engine/run/run_id.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>

namespace fapo {
namespace {

constexpr int kMaxCreateAttempts = 64;

class SystemWallClock final : public WallClock {
 public:
  WallTime now() const override { return std::chrono::system_clock::now(); }
};

std::tm utc_fields(WallTime time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm fields{};
  ::gmtime_r(&seconds, &fields);
  return fields;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

}  // namespace

const WallClock& system_wall_clock() {
  static const SystemWallClock kClock;
  return kClock;
}

WallTime ManualWallClock::now() const {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(
      std::chrono::microseconds(micros_since_epoch_.load())));
}

void ManualWallClock::set(WallTime time) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch());
  micros_since_epoch_.store(micros.count());
}

void ManualWallClock::advance(std::chrono::milliseconds step) {
  micros_since_epoch_.fetch_add(
      std::chrono::duration_cast<std::chrono::microseconds>(step).count());
}

std::string format_timestamp(WallTime time) {
  std::tm f = utc_fields(time);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
  char buffer[96];  // room for any int fields, so snprintf never truncates
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", f.tm_year + 1900,
                f.tm_mon + 1, f.tm_mday, f.tm_hour, f.tm_min, f.tm_sec,
                static_cast<int>(millis.count() % 1000));
  return buffer;
}

std::string make_run_id(WallTime created, std::uint32_t suffix) {
  std::tm f = utc_fields(created);
  char buffer[96];  // room for any int fields, so snprintf never truncates
  std::snprintf(buffer, sizeof buffer, "r%04d%02d%02d-%02d%02d%02d-%06x", f.tm_year + 1900,
                f.tm_mon + 1, f.tm_mday, f.tm_hour, f.tm_min, f.tm_sec, suffix & 0xffffffu);
  return buffer;
}

bool is_well_formed_run_id(std::string_view text) {
  // r yyyymmdd - HHMMSS - xxxxxx
  constexpr std::string_view kShape = "r########-######-hhhhhh";
  if (text.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    char want = kShape[i];
    char got = text[i];
    bool fits = want == '#' ? is_digit(got) : want == 'h' ? is_lower_hex(got) : got == want;
    if (!fits) return false;
  }
  return true;
}

std::uint32_t random_run_suffix() {
  thread_local std::random_device device;
  return static_cast<std::uint32_t>(device());
}

Result<std::string> create_run_dir(const std::filesystem::path& runs_dir, WallTime created,
                                   const RandomSource& random) {
  for (int attempt = 0; attempt < kMaxCreateAttempts; ++attempt) {
    std::string id = make_run_id(created, random());
    std::filesystem::path dir = runs_dir / id;
    if (::mkdir(dir.c_str(), 0755) == 0) return id;
    if (errno != EEXIST) {
      return make_error(ErrorCode::kIo,
                        dir.string() + ": cannot create run directory: " + std::strerror(errno));
    }
  }
  return make_error(ErrorCode::kIo, runs_dir.string() + ": no free run id after " +
                                        std::to_string(kMaxCreateAttempts) +
                                        " attempts; the random source is not random");
}

}  // namespace fapo
