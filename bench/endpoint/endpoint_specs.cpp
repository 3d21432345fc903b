// Parsing of the endpoint's fault and latency specs (see test_endpoint.h for the syntax).
#include <charconv>

#include "bench/endpoint/test_endpoint.h"
#include "engine/base/strings.h"

namespace fapo::bench {
namespace {

std::optional<int> to_int(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> to_double(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

Result<Latency> parse_latency(std::string_view text) {
  auto parts = split(text, ':');
  auto bad = [&] {
    return make_error(ErrorCode::kInvalidInput,
                      "latency '" + std::string(text) +
                          "': expected MS, uniform:LOW:HIGH or exp:MEAN (milliseconds)");
  };
  if (parts.size() == 1) {
    auto ms = to_double(parts[0]);
    return ms ? Result<Latency>(Latency::fixed(*ms)) : Result<Latency>(bad());
  }
  if (parts[0] == "uniform" && parts.size() == 3) {
    auto low = to_double(parts[1]);
    auto high = to_double(parts[2]);
    if (low && high && *low <= *high) return Latency::uniform(*low, *high);
  }
  if ((parts[0] == "exp" || parts[0] == "exponential") && parts.size() == 2) {
    if (auto mean = to_double(parts[1])) return Latency::exponential(*mean);
  }
  return bad();
}

Result<FaultSpec> parse_fault(std::string_view text) {
  FaultSpec spec;
  std::string_view body = text;
  if (auto star = body.rfind('*'); star != std::string_view::npos) {
    auto times = to_int(body.substr(star + 1));
    if (!times || *times < 1) {
      return make_error(ErrorCode::kInvalidInput, "fault '" + std::string(text) + "': bad *N");
    }
    spec.times = *times;
    body = body.substr(0, star);
  }
  auto colon = body.find(':');
  std::string_view name = body.substr(0, colon);
  std::string_view argument = colon == std::string_view::npos ? "" : body.substr(colon + 1);
  if (name == "429") {
    spec.kind = Fault::kRateLimit;
    if (starts_with(argument, "retry=")) spec.retry_after = std::string(argument.substr(6));
    return spec;
  }
  if (name == "500") spec.kind = Fault::kServerError;
  if (name == "malformed") spec.kind = Fault::kMalformedJson;
  if (name == "truncated") spec.kind = Fault::kTruncatedBody;
  if (name == "401") spec.kind = Fault::kUnauthorized;
  if (name == "400") spec.kind = Fault::kBadRequest;
  if (name == "hang" || name == "slow") {
    spec.kind = name == "hang" ? Fault::kHang : Fault::kSlowStream;
    if (!argument.empty()) {
      auto ms = to_int(argument);
      if (!ms || *ms < 0) {
        return make_error(ErrorCode::kInvalidInput, "fault '" + std::string(text) + "': bad ms");
      }
      (name == "hang" ? spec.hang_ms : spec.drip_interval_ms) = *ms;
    }
  }
  if (spec.kind == Fault::kNone) {
    return make_error(ErrorCode::kInvalidInput,
                      "fault '" + std::string(text) +
                          "': expected 429, 500, hang, malformed, truncated, slow, 401 or 400");
  }
  return spec;
}

}  // namespace fapo::bench
