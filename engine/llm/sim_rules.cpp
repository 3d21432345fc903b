#include "engine/llm/sim_rules.h"

#include <algorithm>
#include <map>
#include <set>

#include "engine/base/strings.h"

namespace fapo {
namespace {

using nlohmann::json;

constexpr const char* kDefaultReply = "(simulated model: no rule matched this prompt)";

// Collects every problem of a `sim` section so one pass fixes them all.
class SimConfigParser {
 public:
  Result<SimConfig> parse(const json& sim);

 private:
  void fail(const std::string& path, const std::string& message) {
    problems_.push_back(path + ": " + message);
  }
  void check_keys(const json& object, const std::string& path,
                  const std::vector<std::string>& allowed);
  std::optional<std::vector<std::string>> strings(const json& value, const std::string& path,
                                                  bool allow_single, bool lower);
  std::optional<double> unit_number(const json& value, const std::string& path);
  SimTemplate parse_template(const json& value, const std::string& path);
  void parse_noise(const json& noise, SimNoise& out);
  void parse_conditions(const json& when, const std::string& path, SimConditions& out);
  void parse_rule(const json& rule, const std::string& path, SimRule& out);
  void parse_tool_call(const json& call, const std::string& path, SimToolCall& out);
  void collect_argument_templates(const json& value, const json::json_pointer& at,
                                  const std::string& path, SimToolCall& out);

  SimNeedleId needle_id(const std::string& lowered);

  std::vector<std::string> problems_;
  std::vector<SimNeedle> needles_;
  std::map<std::string, SimNeedleId> needle_ids_;
};

SimNeedleId SimConfigParser::needle_id(const std::string& lowered) {
  auto [found, inserted] =
      needle_ids_.emplace(lowered, static_cast<SimNeedleId>(needles_.size()));
  if (inserted) needles_.emplace_back(lowered);
  return found->second;
}

void SimConfigParser::check_keys(const json& object, const std::string& path,
                                 const std::vector<std::string>& allowed) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string message = "unknown key '" + key + "'";
    if (auto guess = closest_match(key, allowed)) message += " (did you mean '" + *guess + "'?)";
    fail(path, message);
  }
}

std::optional<std::vector<std::string>> SimConfigParser::strings(const json& value,
                                                                 const std::string& path,
                                                                 bool allow_single, bool lower) {
  std::vector<std::string> out;
  if (allow_single && value.is_string()) {
    out.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    for (const json& item : value) {
      if (!item.is_string()) break;
      out.push_back(item.get<std::string>());
    }
  }
  bool complete = value.is_string() ? allow_single : value.is_array() && out.size() == value.size();
  if (!complete) {
    fail(path, allow_single ? "must be a string or an array of strings"
                            : "must be an array of strings");
    return std::nullopt;
  }
  for (std::string& item : out) {
    if (item.empty()) {
      fail(path, "must not contain empty strings");
      return std::nullopt;
    }
    if (lower) item = SimNeedle::ascii_lower(item);
  }
  return out;
}

std::optional<double> SimConfigParser::unit_number(const json& value, const std::string& path) {
  if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1) {
    fail(path, "must be a number from 0 to 1");
    return std::nullopt;
  }
  return value.get<double>();
}

SimTemplate SimConfigParser::parse_template(const json& value, const std::string& path) {
  if (!value.is_string()) {
    fail(path, "must be a string (a reply template)");
    return {};
  }
  Result<SimTemplate> parsed = SimTemplate::parse(value.get<std::string>());
  if (!parsed.ok()) {
    fail(path, parsed.error().message);
    return {};
  }
  return std::move(parsed).value();
}

void SimConfigParser::parse_noise(const json& noise, SimNoise& out) {
  const std::string path = "sim.noise";
  if (!noise.is_object()) return fail(path, "must be an object");
  check_keys(noise, path,
             {"per_temperature", "max", "modes", "verbose_prefix", "verbose_suffix"});
  if (noise.contains("per_temperature")) {
    const json& rate = noise["per_temperature"];
    if (!rate.is_number() || rate.get<double>() < 0) {
      fail(path + ".per_temperature", "must be a number >= 0");
    } else {
      out.per_temperature = rate.get<double>();
    }
  }
  if (noise.contains("max")) out.max = unit_number(noise["max"], path + ".max").value_or(out.max);
  if (noise.contains("modes")) {
    auto modes = strings(noise["modes"], path + ".modes", false, false);
    if (modes) out.modes.clear();
    for (const std::string& mode : modes.value_or(std::vector<std::string>{})) {
      if (mode == "distractor") {
        out.modes.push_back(SimNoiseMode::kDistractor);
      } else if (mode == "verbose") {
        out.modes.push_back(SimNoiseMode::kVerbose);
      } else {
        fail(path + ".modes", "unknown mode '" + mode + "' (use \"distractor\" or \"verbose\")");
      }
    }
  }
  for (const char* key : {"verbose_prefix", "verbose_suffix"}) {
    if (!noise.contains(key)) continue;
    if (!noise[key].is_string()) {
      fail(path + "." + key, "must be a string");
    } else {
      (std::string(key) == "verbose_prefix" ? out.verbose_prefix : out.verbose_suffix) =
          noise[key].get<std::string>();
    }
  }
}

void SimConfigParser::parse_conditions(const json& when, const std::string& path,
                                       SimConditions& out) {
  if (!when.is_object()) return fail(path, "must be an object of conditions");
  check_keys(when, path,
             {"prompt_contains", "prompt_contains_any", "prompt_lacks_all", "prompt_lacks_any",
              "prompt_matches", "evidence_present", "evidence_absent",
              "evidence_in_last_message", "metadata", "task_type", "tool_result_contains",
              "tool_result_present"});
  auto needles = [&](const char* key, std::vector<SimNeedleId>& target) {
    if (!when.contains(key)) return;
    for (const std::string& needle : strings(when[key], path + "." + key, false, true)
                                         .value_or(std::vector<std::string>{})) {
      target.push_back(needle_id(needle));
    }
  };
  needles("prompt_contains", out.prompt_contains);
  needles("prompt_contains_any", out.prompt_contains_any);
  needles("prompt_lacks_all", out.prompt_lacks_all);
  needles("prompt_lacks_any", out.prompt_lacks_any);
  needles("tool_result_contains", out.tool_result_contains);
  if (when.contains("tool_result_present")) {
    if (!when["tool_result_present"].is_boolean()) {
      fail(path + ".tool_result_present", "must be true or false");
    } else {
      out.tool_result_present = when["tool_result_present"].get<bool>();
    }
  }
  auto fields = [&](const char* key, std::vector<std::string>& target) {
    if (!when.contains(key)) return;
    target = strings(when[key], path + "." + key, true, false).value_or(target);
  };
  fields("evidence_present", out.evidence_present);
  fields("evidence_absent", out.evidence_absent);
  fields("evidence_in_last_message", out.evidence_in_last_message);
  fields("task_type", out.task_types);
  if (when.contains("prompt_matches")) {
    const json& regex = when["prompt_matches"];
    if (!regex.is_string()) {
      fail(path + ".prompt_matches", "must be a string (an ECMAScript regex)");
    } else {
      try {
        out.prompt_matches = std::make_shared<const std::regex>(
            regex.get<std::string>(), std::regex::ECMAScript | std::regex::icase);
      } catch (const std::regex_error& error) {
        fail(path + ".prompt_matches", std::string("invalid regex (") + error.what() + ")");
      }
    }
  }
  if (when.contains("metadata")) {
    const json& metadata = when["metadata"];
    if (!metadata.is_object()) {
      fail(path + ".metadata", "must be an object of required values, e.g. {\"difficulty\": "
                               "\"hard\"}");
    } else {
      for (const auto& [key, value] : metadata.items()) out.metadata.emplace_back(key, value);
    }
  }
}

void SimConfigParser::parse_rule(const json& rule, const std::string& path, SimRule& out) {
  if (!rule.is_object()) return fail(path, "must be an object");
  check_keys(rule, path,
             {"name", "description", "when", "probability", "draw", "reply", "tool_call",
              "distractors", "noise"});
  const json& name = rule.contains("name") ? rule["name"] : json();
  bool name_ok = name.is_string() && !name.get<std::string>().empty() &&
                 name.get<std::string>().find_first_not_of(
                     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                     std::string::npos;
  if (!name_ok) {
    fail(path + ".name", "required: a non-empty string of letters, digits, '_', '.', '-'");
  } else {
    out.name = name.get<std::string>();
  }
  if (rule.contains("when")) parse_conditions(rule["when"], path + ".when", out.when);
  if (rule.contains("probability")) {
    out.probability = unit_number(rule["probability"], path + ".probability");
  }
  if (rule.contains("draw")) {
    const json& draw = rule["draw"];
    if (draw == "per_sample") {
      out.draw = SimDraw::kPerSample;
    } else if (draw == "per_case") {
      out.draw = SimDraw::kPerCase;
    } else {
      fail(path + ".draw", "must be \"per_sample\" or \"per_case\"");
    }
  }
  if (rule.contains("tool_call")) {
    out.tool_call.emplace();
    parse_tool_call(rule["tool_call"], path + ".tool_call", *out.tool_call);
  }
  if (rule.contains("reply")) {
    out.reply = parse_template(rule["reply"], path + ".reply");
  } else if (!out.tool_call) {
    fail(path + ".reply", "required: the reply template (optional only with a tool_call)");
  }
  if (rule.contains("distractors")) {
    out.distractors =
        strings(rule["distractors"], path + ".distractors", false, false).value_or(out.distractors);
  }
  if (rule.contains("noise")) {
    if (!rule["noise"].is_boolean()) {
      fail(path + ".noise", "must be true or false");
    } else {
      out.noise = rule["noise"].get<bool>();
    }
  }
}

void SimConfigParser::parse_tool_call(const json& call, const std::string& path,
                                      SimToolCall& out) {
  if (!call.is_object()) {
    return fail(path, "must be an object: {\"name\": \"<tool>\", \"arguments\": {...}}");
  }
  check_keys(call, path, {"name", "arguments"});
  const json& name = call.contains("name") ? call["name"] : json();
  if (!name.is_string() || name.get<std::string>().empty()) {
    fail(path + ".name", "required: the name of the tool to call");
  } else {
    out.name = name.get<std::string>();
  }
  if (!call.contains("arguments")) return;
  if (!call["arguments"].is_object()) return fail(path + ".arguments", "must be an object");
  out.arguments = call["arguments"];
  collect_argument_templates(out.arguments, json::json_pointer(), path + ".arguments", out);
}

void SimConfigParser::collect_argument_templates(const json& value, const json::json_pointer& at,
                                                 const std::string& path, SimToolCall& out) {
  if (value.is_string()) {
    Result<SimTemplate> parsed = SimTemplate::parse(value.get<std::string>());
    if (!parsed.ok()) return fail(path, parsed.error().message);
    out.templates.emplace_back(at, std::move(parsed).value());
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      collect_argument_templates(item, at / key, path + "." + key, out);
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      collect_argument_templates(value[i], at / i, path + "[" + std::to_string(i) + "]", out);
    }
  }
}

Result<SimConfig> SimConfigParser::parse(const json& sim) {
  SimConfig config;
  config.default_reply = SimTemplate::parse(kDefaultReply).value();
  if (sim.is_null()) return config;
  if (!sim.is_object()) return make_error(ErrorCode::kInvalidInput, "sim: must be an object");
  check_keys(sim, "sim", {"description", "seed", "noise", "rules", "default_reply"});
  if (sim.contains("seed")) {
    const json& seed = sim["seed"];
    if (!seed.is_number_integer() || seed.get<std::int64_t>() < 0) {
      fail("sim.seed", "must be a non-negative integer");
    } else {
      config.seed = seed.get<std::uint64_t>();
    }
  }
  if (sim.contains("noise")) parse_noise(sim["noise"], config.noise);
  if (sim.contains("default_reply")) {
    config.default_reply = parse_template(sim["default_reply"], "sim.default_reply");
  }
  if (sim.contains("rules")) {
    const json& rules = sim["rules"];
    if (!rules.is_array()) {
      fail("sim.rules", "must be an array of rules");
    } else {
      std::set<std::string> names;
      for (std::size_t i = 0; i < rules.size(); ++i) {
        std::string path = "sim.rules[" + std::to_string(i) + "]";
        SimRule rule;
        parse_rule(rules[i], path, rule);
        if (!rule.name.empty() && !names.insert(rule.name).second) {
          fail(path + ".name", "duplicate rule name '" + rule.name + "'");
        }
        config.rules.push_back(std::move(rule));
      }
    }
  }
  if (!problems_.empty()) return make_error(ErrorCode::kInvalidInput, join(problems_, "\n"));
  config.needles = std::move(needles_);
  return config;
}

}  // namespace

std::string SimNeedle::ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

SimNeedle::SimNeedle(std::string text) : text_(ascii_lower(text)) {
  const std::size_t length = text_.size();
  shift_.fill(static_cast<std::uint32_t>(length));
  for (std::size_t i = 0; i + 1 < length; ++i) {
    shift_[static_cast<unsigned char>(text_[i])] = static_cast<std::uint32_t>(length - 1 - i);
  }
}

bool SimNeedle::found_in(std::string_view lowered_text) const {
  const std::size_t length = text_.size();
  if (length == 0) return true;
  if (lowered_text.size() < length) return false;
  const char* base = lowered_text.data();
  for (std::size_t at = 0; at + length <= lowered_text.size();
       at += shift_[static_cast<unsigned char>(base[at + length - 1])]) {
    if (base[at + length - 1] == text_.back() &&
        std::char_traits<char>::compare(base + at, text_.data(), length) == 0) {
      return true;
    }
  }
  return false;
}

Result<SimConfig> parse_sim_config(const nlohmann::json& sim) {
  // nlohmann only throws here on a bug (every access is guarded), but the engine API must not
  // let an exception escape.
  try {
    return SimConfigParser().parse(sim);
  } catch (const nlohmann::json::exception& error) {
    return make_error(ErrorCode::kInternal, std::string("sim: ") + error.what());
  }
}

}  // namespace fapo
