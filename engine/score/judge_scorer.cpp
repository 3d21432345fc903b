// The `judge` scorer: a model grades the output against a rubric and the reference answer and
// replies with a JSON verdict {"score": 0..scale, "reason": "..."}. A reply that is not exactly
// such a verdict gets one corrective retry; when the judge still fails (or its model call
// fails), the case is either left out of the mean as a scorer failure ("exclude") or scored by
// a fallback scorer. Every call is usage of the judge role (Score::judge_usage and the
// thread's JudgeRecording). docs/scorers.md#judge describes the configuration and the prompt.
#include <cmath>
#include <fmt/format.h>

#include "engine/base/files.h"
#include "engine/base/strings.h"
#include "engine/llm/http_model_client.h"
#include "engine/llm/process_scheduler.h"
#include "engine/llm/provider_config.h"
#include "engine/llm/sim_model.h"
#include "engine/score/builtin_scorers.h"
#include "engine/score/judge.h"

namespace fapo {

namespace {

using nlohmann::json;

constexpr double kDefaultScale = 10;
constexpr int kDefaultMaxTokens = 512;
constexpr std::size_t kQuotedReplyBytes = 300;  // of an unusable reply, in messages
constexpr const char* kEmptyResponse = "(empty response)";

thread_local JudgeRecording* t_recording = nullptr;
// The totals of the judge call running on this thread: HTTP clients report their attempts
// through CallBindings::on_call, on the calling thread, while the call is in progress.
thread_local CostTotals* t_judge_call = nullptr;

void note_judge_attempts(const CallRecord& record) {
  if (t_judge_call != nullptr) t_judge_call->attempts += record.attempts;
}

// Points t_judge_call at one call's totals for the duration of that call.
class JudgeCallScope {
 public:
  explicit JudgeCallScope(CostTotals* totals) : previous_(t_judge_call) { t_judge_call = totals; }
  ~JudgeCallScope() { t_judge_call = previous_; }
  JudgeCallScope(const JudgeCallScope&) = delete;
  JudgeCallScope& operator=(const JudgeCallScope&) = delete;

 private:
  CostTotals* previous_;
};

std::string quote_reply(std::string_view reply) {
  std::string text = truncate_utf8(reply, kQuotedReplyBytes);
  return "'" + text + (text.size() < reply.size() ? "…'" : "'");
}

// The fixed part of the judge's instructions; {rubric}, {task}, {reference}, {scale} filled in.
constexpr const char* kSystemPrompt =
    "You grade a response to a task. Judge it by the rubric below and compare it with the "
    "reference answer.\n\n"
    "Rubric:\n{rubric}\n\n"
    "Task:\n{task}\n\n"
    "Reference answer:\n{reference}\n\n"
    "The next message is the response to grade, exactly as it was given.\n"
    "Reply with exactly one JSON object and nothing else:\n"
    "{{\"score\": <a number from 0 to {scale}>, \"reason\": \"<one or two sentences>\"}}";

std::string scale_text(double scale) { return fmt::format("{:g}", scale); }

// The rules of the default simulated judge: full marks when the reference answer occurs (as
// normalised whole words) in the response, zero otherwise. Labelled simulated in its reasons.
json default_sim_judge(const std::string& field, double scale) {
  auto verdict = [](double score, const char* reason) {
    return json{{"score", score}, {"reason", reason}}.dump();
  };
  return {{"description", "default simulated judge: passes responses containing the reference"},
          {"rules",
           json::array({{{"name", "judge_reference_in_response"},
                         {"when", {{"evidence_in_last_message", field}}},
                         {"reply", verdict(scale, "simulated judge: the response contains the "
                                                  "reference answer")}}})},
          {"default_reply",
           verdict(0, "simulated judge: the response does not contain the reference answer")}};
}

// Everything a judge needs besides its model client.
struct JudgeSettings {
  std::string rubric;
  std::string field = "answer";
  double scale = kDefaultScale;
  ProviderConfig model;  // provider "sim" included
  json sim;              // the simulated judge's rules (null: the default judge)
};

Result<int> whole_number(const ConfigReader& reader, std::string_view key, int fallback,
                         int minimum) {
  FAPO_ASSIGN_OR_RETURN(double value, reader.number_or(key, fallback));
  if (value != std::floor(value) || value < minimum || value > 1e9) {
    return reader.error(key, fmt::format("must be a whole number of at least {}", minimum));
  }
  return static_cast<int>(value);
}

Result<Prices> read_prices(const ConfigReader& model) {
  if (!model.has("prices")) return Prices{};
  ConfigReader prices(model.json().at("prices"), model.path_of("prices"));
  FAPO_RETURN_IF_ERROR(prices.check_keys({"input_per_mtok", "output_per_mtok"}));
  Prices out;
  FAPO_ASSIGN_OR_RETURN(out.input_per_mtok, prices.number_or("input_per_mtok", 0));
  FAPO_ASSIGN_OR_RETURN(out.output_per_mtok, prices.number_or("output_per_mtok", 0));
  if (out.input_per_mtok < 0) return prices.error("input_per_mtok", "must be zero or more");
  if (out.output_per_mtok < 0) return prices.error("output_per_mtok", "must be zero or more");
  return out;
}

Result<ProviderConfig> read_judge_model(const ConfigReader& config) {
  if (!config.has("model")) {
    return config.error("model", "is missing; name the judge's model, e.g. {\"provider\": "
                                 "\"openai\", \"model\": \"gpt-4.1-mini\"}, or {\"provider\": "
                                 "\"sim\"} for a simulated judge");
  }
  ConfigReader model(config.json().at("model"), config.path_of("model"));
  FAPO_RETURN_IF_ERROR(model.check_keys({"provider", "model", "base_url", "api_key_env",
                                         "temperature", "max_tokens", "timeout_s", "retries",
                                         "prices"}));
  ProviderConfig out;
  out.config_path = model.path();
  FAPO_ASSIGN_OR_RETURN(out.provider, model.required_string("provider"));
  if (out.provider != "sim" && out.provider != "openai" && out.provider != "anthropic") {
    return model.error("provider", "'" + out.provider + "' is not available (use sim, openai "
                                   "or anthropic)");
  }
  const bool simulated = out.provider == "sim";
  FAPO_ASSIGN_OR_RETURN(out.model, model.string_or("model", simulated ? "sim-judge" : ""));
  FAPO_ASSIGN_OR_RETURN(out.base_url, model.string_or("base_url", ""));
  FAPO_ASSIGN_OR_RETURN(out.api_key_env, model.string_or("api_key_env", ""));
  FAPO_ASSIGN_OR_RETURN(out.temperature, model.number_or("temperature", 0));
  FAPO_ASSIGN_OR_RETURN(out.max_tokens, whole_number(model, "max_tokens", kDefaultMaxTokens, 1));
  FAPO_ASSIGN_OR_RETURN(out.timeout_s, model.number_or("timeout_s", out.timeout_s));
  FAPO_ASSIGN_OR_RETURN(out.retries, whole_number(model, "retries", out.retries, 0));
  FAPO_ASSIGN_OR_RETURN(out.prices, read_prices(model));
  out.top_p = 1.0;
  if (out.temperature < 0 || out.temperature > 2) {
    return model.error("temperature", "must be between 0 and 2");
  }
  if (!simulated) FAPO_RETURN_IF_ERROR(validate_provider_config(out));
  return out;
}

// The rubric text, given inline or in a file of the tenant directory.
Result<std::string> read_rubric(const ConfigReader& config, const fs::path& tenant_dir) {
  if (config.has("rubric") == config.has("rubric_file")) {
    return config.error("rubric", "give exactly one of 'rubric' (the text) and 'rubric_file' "
                                  "(a file in the tenant directory)");
  }
  if (config.has("rubric")) {
    FAPO_ASSIGN_OR_RETURN(std::string rubric, config.required_string("rubric"));
    if (trim(rubric).empty()) return config.error("rubric", "is empty");
    return rubric;
  }
  FAPO_ASSIGN_OR_RETURN(std::string name, config.required_string("rubric_file"));
  const fs::path path = tenant_dir / name;
  if (fs::path(name).is_absolute() || !is_within(tenant_dir, path)) {
    return config.error("rubric_file", "'" + name + "' must be a path inside the tenant "
                                       "directory");
  }
  if (!fs::is_regular_file(path)) {
    return config.error("rubric_file", "'" + name + "' not found in the tenant directory");
  }
  auto text = read_file(path);
  if (!text.ok()) return config.error("rubric_file", text.error().message);
  if (trim(*text).empty()) return config.error("rubric_file", "'" + name + "' is empty");
  return *text;
}

Result<JudgeSettings> read_settings(const ConfigReader& config, const fs::path& tenant_dir) {
  JudgeSettings settings;
  FAPO_ASSIGN_OR_RETURN(settings.rubric, read_rubric(config, tenant_dir));
  FAPO_ASSIGN_OR_RETURN(settings.field, config.string_or("field", "answer"));
  FAPO_ASSIGN_OR_RETURN(settings.scale, config.number_or("scale", kDefaultScale));
  if (!(settings.scale > 0) || !std::isfinite(settings.scale)) {
    return config.error("scale", "must be greater than 0");
  }
  FAPO_ASSIGN_OR_RETURN(settings.model, read_judge_model(config));
  if (config.has("sim")) {
    if (settings.model.provider != "sim") {
      return config.error("sim", "rules for a simulated judge need model.provider \"sim\"");
    }
    settings.sim = config.json().at("sim");
  }
  return settings;
}

Result<std::shared_ptr<ModelClient>> make_judge_client(const JudgeSettings& settings,
                                                       const std::string& path) {
  if (settings.model.provider == "sim") {
    const json rules =
        settings.sim.is_null() ? default_sim_judge(settings.field, settings.scale) : settings.sim;
    auto sim = make_sim_model(rules, settings.model.model);
    if (!sim.ok()) return sim.error().with_context(path + ".sim");
    return std::shared_ptr<ModelClient>(std::move(*sim));
  }
  // Like the task model (engine/run/tenant.cpp) through the process scheduler, but never
  // behind the response cache: a judgement is cheap to repeat and a cached one would hide
  // a changed rubric.
  CallBindings bindings;
  bindings.role = CostRole::kJudge;
  bindings.on_call = note_judge_attempts;
  auto client = make_provider_client(settings.model, process_scheduler(), bindings);
  if (!client.ok()) return client.error();
  return std::shared_ptr<ModelClient>(std::move(*client));
}

// Writes a case's context as "key: value" lines, the task the response answered.
std::string task_text(const Case& case_data) {
  std::string text;
  for (const auto& [key, value] : case_data.context) {
    if (!text.empty()) text += "\n";
    text += key + ": " + value;
  }
  return text.empty() ? "(no context)" : text;
}

std::string reference_text(const std::vector<std::string>& answers) {
  if (answers.size() == 1) return answers.front();
  std::string text = "Any of these is correct:";
  for (const std::string& answer : answers) text += "\n- " + answer;
  return text;
}

class JudgeScorer : public Scorer {
 public:
  JudgeScorer(JudgeSettings settings, std::shared_ptr<ModelClient> client,
              std::unique_ptr<Scorer> fallback)
      : settings_(std::move(settings)), client_(std::move(client)),
        fallback_(std::move(fallback)) {}

  Status validate_case(const Case& case_data) const override {
    FAPO_RETURN_IF_ERROR(status_of(expected_answers(case_data, settings_.field, std::nullopt)));
    if (fallback_) {
      Status valid = fallback_->validate_case(case_data);
      if (!valid.ok()) return valid.error().with_context("fallback scorer");
    }
    return ok_status();
  }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace& trace) const override {
    CostTotals usage;
    Result<JudgeVerdict> verdict = judge(case_data, output, usage);
    JudgeRecording::add_usage(usage);
    if (verdict.ok()) {
      JudgeRecording::add_note(fmt::format("verdict {:g}/{}: {}", verdict->score,
                                           scale_text(settings_.scale), verdict->reason));
      const double fraction = verdict->score / settings_.scale;
      return Score{100.0 * fraction, {{"judge_score", fraction}, {"judge_failed", 0.0}}, usage};
    }
    const std::string why = verdict.error().message;
    if (!fallback_) {
      JudgeRecording::add_note("judge failed: " + why);
      return make_error(ErrorCode::kScorer,
                        "the judge failed on case '" + case_data.case_id + "': " + why +
                            " (fallback \"exclude\": the case is left out of the mean)");
    }
    JudgeRecording::add_fallback();
    JudgeRecording::add_note("judge failed: " + why + "; scored by the fallback scorer");
    Result<Score> fallback = fallback_->score(case_data, output, trace);
    if (!fallback.ok()) {
      return fallback.error().with_context("the judge failed (" + why +
                                           ") and so did its fallback scorer");
    }
    Score out;
    out.composite = fallback->composite;
    out.breakdown["judge_failed"] = 1.0;
    for (const auto& [key, value] : fallback->breakdown) out.breakdown["fallback." + key] = value;
    out.judge_usage = usage;
    out.judge_usage += fallback->judge_usage;
    return out;
  }

 private:
  std::vector<ChatMessage> prompt(const Case& case_data, const std::string& output) const {
    auto answers = expected_answers(case_data, settings_.field, std::nullopt);
    const std::string reference = answers.ok() ? reference_text(*answers) : "(none)";
    std::string system = fmt::format(kSystemPrompt, fmt::arg("rubric", trim(settings_.rubric)),
                                     fmt::arg("task", task_text(case_data)),
                                     fmt::arg("reference", reference),
                                     fmt::arg("scale", scale_text(settings_.scale)));
    // Some providers reject an empty message; the placeholder also tells the judge why.
    const std::string response = trim(output).empty() ? std::string(kEmptyResponse) : output;
    return {{"system", std::move(system)}, {"user", response}};
  }

  // One judge call; its usage is added to `usage` whatever the outcome.
  Result<ModelReply> call(const std::vector<ChatMessage>& messages, const Case& case_data,
                          CostTotals& usage) const {
    ModelRequest request;
    request.model = settings_.model.model;
    request.messages = messages;
    request.sampling = SamplingParams{settings_.model.temperature, 1.0,
                                      settings_.model.max_tokens, std::nullopt};
    CostTotals delta;
    Result<ModelReply> reply = make_error(ErrorCode::kInternal, "not called");
    {
      JudgeCallScope scope(&delta);
      reply = client_->complete(request, CallContext{&case_data, "judge", 0});
    }
    if (!reply.ok()) {
      delta.failed = 1;
    } else {
      delta.calls = 1;
      if (delta.attempts == 0) delta.attempts = 1;  // the simulated judge has no scheduler
      delta.tokens_in = reply->tokens_in;
      delta.tokens_out = reply->tokens_out;
      // The simulated judge costs nothing, like the simulated task model.
      if (settings_.model.provider != "sim") {
        delta.cost = call_cost(settings_.model.prices, reply->tokens_in, reply->tokens_out);
      }
    }
    usage += delta;
    return reply;
  }

  Result<JudgeVerdict> judge(const Case& case_data, const std::string& output,
                             CostTotals& usage) const {
    std::vector<ChatMessage> messages = prompt(case_data, output);
    Result<ModelReply> first = call(messages, case_data, usage);
    if (!first.ok()) return model_failure(first.error());
    Result<JudgeVerdict> verdict = parse_judge_verdict(first->text, settings_.scale);
    if (verdict.ok()) return verdict;
    messages.push_back({"assistant", first->text});
    messages.push_back({"user", fmt::format(
        "Your reply could not be used: {}. Reply again with exactly one JSON object and "
        "nothing else, such as {{\"score\": {}, \"reason\": \"...\"}}, where score is a number "
        "from 0 to {}.",
        verdict.error().message, scale_text(settings_.scale / 2), scale_text(settings_.scale))});
    Result<ModelReply> second = call(messages, case_data, usage);
    if (!second.ok()) return model_failure(second.error());
    Result<JudgeVerdict> retried = parse_judge_verdict(second->text, settings_.scale);
    if (retried.ok()) return retried;
    return make_error(ErrorCode::kScorer,
                      "no valid verdict after a corrective retry: " + retried.error().message +
                          " (reply " + quote_reply(second->text) + ")");
  }

  static Error model_failure(const Error& error) {
    return make_error(ErrorCode::kScorer, "the judge model call failed: " + error.message);
  }

  JudgeSettings settings_;
  std::shared_ptr<ModelClient> client_;  // thread-safe
  std::unique_ptr<Scorer> fallback_;     // null: "exclude"
};

// The part of a reply that must be the JSON verdict: the trimmed text, or the inside of a
// ```json (or bare ```) fence that is the whole reply.
std::string verdict_body(std::string_view reply) {
  std::string text = trim(reply);
  if (!starts_with(text, "```")) return text;
  std::string_view inner(text);
  inner.remove_prefix(3);
  if (to_lower(inner.substr(0, 4)) == "json") inner.remove_prefix(4);
  if (inner.size() < 3 || inner.substr(inner.size() - 3) != "```") return text;  // unclosed
  inner.remove_suffix(3);
  return trim(inner);
}

void collect_judges(const json& config, const fs::path& tenant_dir,
                    std::vector<JudgeSpec>& out) {
  if (!config.is_object() || !config.contains("type") || !config["type"].is_string()) return;
  const std::string type = config["type"].get<std::string>();
  if (type == "composite" && config.contains("components") && config["components"].is_array()) {
    for (const json& component : config["components"]) {
      if (component.is_object() && component.contains("scorer")) {
        collect_judges(component["scorer"], tenant_dir, out);
      }
    }
    return;
  }
  if (type != "judge") return;
  JudgeSpec spec;
  const json model = config.contains("model") && config["model"].is_object() ? config["model"]
                                                                              : json::object();
  auto number = [](const json& object, const char* key, double fallback) {
    return object.contains(key) && object[key].is_number() ? object[key].get<double>()
                                                           : fallback;
  };
  spec.provider = model.contains("provider") && model["provider"].is_string()
                      ? model["provider"].get<std::string>()
                      : "sim";
  spec.max_tokens = static_cast<int>(number(model, "max_tokens", kDefaultMaxTokens));
  if (model.contains("prices") && model["prices"].is_object()) {
    spec.prices = {number(model["prices"], "input_per_mtok", 0),
                   number(model["prices"], "output_per_mtok", 0)};
  }
  spec.prompt_chars = std::string(kSystemPrompt).size();
  if (config.contains("rubric") && config["rubric"].is_string()) {
    spec.prompt_chars += config["rubric"].get<std::string>().size();
  } else if (config.contains("rubric_file") && config["rubric_file"].is_string()) {
    std::error_code error;
    auto size = fs::file_size(tenant_dir / config["rubric_file"].get<std::string>(), error);
    if (!error) spec.prompt_chars += static_cast<std::size_t>(size);
  }
  out.push_back(std::move(spec));
}

}  // namespace

ScorerResult make_judge_scorer(const ConfigReader& config, const fs::path& tenant_dir) {
  FAPO_RETURN_IF_ERROR(config.check_keys(
      {"rubric", "rubric_file", "model", "scale", "field", "fallback", "sim"}));
  FAPO_ASSIGN_OR_RETURN(JudgeSettings settings, read_settings(config, tenant_dir));
  std::unique_ptr<Scorer> fallback;
  if (config.has("fallback")) {
    const json& value = config.json().at("fallback");
    if (value.is_string()) {
      if (value != "exclude") {
        return config.error("fallback", "must be \"exclude\" or a scorer configuration such as "
                                        "{\"type\": \"exact_match\"}");
      }
    } else {
      if (!judges_in(value, tenant_dir).empty()) {
        return config.error("fallback", "a judge cannot fall back on another judge");
      }
      FAPO_ASSIGN_OR_RETURN(fallback,
                            make_scorer_at(value, tenant_dir, config.path_of("fallback")));
    }
  }
  auto client = make_judge_client(settings, config.path());
  if (!client.ok()) return client.error();
  return std::unique_ptr<Scorer>(
      std::make_unique<JudgeScorer>(std::move(settings), std::move(*client), std::move(fallback)));
}

std::vector<JudgeSpec> judges_in(const nlohmann::json& scorer_config,
                                 const std::filesystem::path& tenant_dir) {
  std::vector<JudgeSpec> out;
  collect_judges(scorer_config, tenant_dir, out);
  return out;
}

Result<JudgeVerdict> parse_judge_verdict(std::string_view reply, double scale) {
  auto invalid = [](const std::string& why) { return make_error(ErrorCode::kScorer, why); };
  const std::string body = verdict_body(reply);
  if (body.empty()) return invalid("the reply is empty");
  const json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return invalid("the reply is not exactly one JSON object (nothing may come before or after "
                   "it but a ```json fence): " + quote_reply(reply));
  }
  if (!value.is_object()) {
    return invalid("the reply is JSON but not an object: " + quote_reply(reply));
  }
  const auto score = value.find("score");
  if (score == value.end() || !score->is_number()) {
    return invalid("the verdict has no numeric \"score\": " + quote_reply(reply));
  }
  const double number = score->get<double>();
  if (!std::isfinite(number) || number < 0 || number > scale) {
    return invalid(fmt::format("the score {:g} is outside 0..{}", number, scale_text(scale)));
  }
  const auto reason = value.find("reason");
  if (reason != value.end() && !reason->is_string()) {
    return invalid("the verdict's \"reason\" must be a string");
  }
  return JudgeVerdict{number, reason != value.end() ? reason->get<std::string>() : ""};
}

JudgeRecording::JudgeRecording() : outer_(t_recording) { t_recording = this; }

JudgeRecording::~JudgeRecording() { t_recording = outer_; }

void JudgeRecording::add_usage(const CostTotals& usage) {
  if (t_recording == nullptr) return;
  t_recording->usage_ += usage;
  t_recording->used_ = true;
}

void JudgeRecording::add_note(std::string note) {
  if (t_recording != nullptr) t_recording->notes_.push_back(std::move(note));
}

void JudgeRecording::add_fallback() {
  if (t_recording != nullptr) ++t_recording->fallbacks_;
}

}  // namespace fapo
