// The `command` scorer: a user's program, started once and kept running, that answers JSON-line
// `validate` and `score` requests (protocol in docs/scorers.md). Calls from many threads are
// serialised by one mutex; a child that died is restarted once per request; every failure is a
// kScorer error naming the program and saying what it did.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <mutex>

#include "engine/base/strings.h"
#include "engine/score/builtin_scorers.h"
#include "engine/score/child_process.h"

namespace fapo {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kStderrLinesInErrors = 5;
constexpr std::size_t kQuotedOutputBytes = 200;

Error scorer_error(const std::string& message) { return make_error(ErrorCode::kScorer, message); }

nlohmann::json case_json(const Case& case_data) {
  return {{"case_id", case_data.case_id},
          {"task_type", case_data.task_type},
          {"context", case_data.context},
          {"expected", case_data.expected},
          {"metadata", case_data.metadata}};
}

// What a request is for, in messages: "scoring case 'q1'".
std::string purpose(const std::string& type, const Case& case_data) {
  return (type == "score" ? "scoring case '" : "validating case '") + case_data.case_id + "'";
}

class CommandScorer : public Scorer {
 public:
  CommandScorer(std::vector<std::string> argv, std::string name, fs::path working_dir,
                std::chrono::milliseconds timeout)
      : argv_(std::move(argv)),
        name_(std::move(name)),
        working_dir_(std::move(working_dir)),
        timeout_(timeout) {}

  ~CommandScorer() override {
    std::lock_guard<std::mutex> lock(mutex_);
    process_.reset();  // stops and reaps the child
  }

  Status validate_case(const Case& case_data) const override {
    nlohmann::json request = {{"type", "validate"}, {"case", case_json(case_data)}};
    FAPO_ASSIGN_OR_RETURN(nlohmann::json reply, call(request, purpose("validate", case_data)));
    if (!reply.contains("ok") || !reply.at("ok").is_boolean()) {
      return scorer_error(prefix(purpose("validate", case_data)) +
                          "replied without a boolean \"ok\": " + quote(reply.dump()) +
                          "; reply {\"ok\": true} or {\"ok\": false, \"error\": \"...\"}");
    }
    if (reply.at("ok").get<bool>()) return ok_status();
    std::string reason = reply.contains("error") && reply.at("error").is_string()
                             ? reply.at("error").get<std::string>()
                             : "no reason given";
    return make_error(ErrorCode::kInvalidInput,
                      "scorer '" + name_ + "' rejected the case: " + reason);
  }

  Result<Score> score(const Case& case_data, const std::string& output,
                      const CaseTrace& trace) const override {
    nlohmann::json request = {{"type", "score"},
                              {"case", case_json(case_data)},
                              {"output", output},
                              {"trace", to_json(trace)}};
    std::string what = purpose("score", case_data);
    FAPO_ASSIGN_OR_RETURN(nlohmann::json reply, call(request, what));
    return read_score(reply, what);
  }

 private:
  std::string prefix(const std::string& what) const {
    return "command scorer '" + name_ + "', " + what + ": ";
  }

  static std::string quote(const std::string& text) {
    std::string cut = truncate_utf8(text, kQuotedOutputBytes);
    return "'" + cut + (cut.size() < text.size() ? "...'" : "'");
  }

  std::string stderr_note(const LineProcess& process) const {
    std::vector<std::string> tail = process.stderr_tail(kStderrLinesInErrors);
    if (tail.empty()) return "; it wrote nothing to stderr";
    return "; last lines of its stderr:\n  " + join(tail, "\n  ");
  }

  Result<Score> read_score(const nlohmann::json& reply, const std::string& what) const {
    if (reply.contains("error") && reply.at("error").is_string()) {
      return scorer_error(prefix(what) +
                          "it reported an error: " + reply.at("error").get<std::string>());
    }
    if (!reply.contains("composite_score")) {
      return scorer_error(prefix(what) +
                          "the reply has no \"composite_score\": " + quote(reply.dump()));
    }
    const nlohmann::json& composite = reply.at("composite_score");
    if (!composite.is_number() || composite.get<double>() < 0 || composite.get<double>() > 100) {
      return scorer_error(prefix(what) + "\"composite_score\" must be a number in [0, 100], got " +
                          composite.dump());
    }
    Score score{composite.get<double>(), {}};
    if (!reply.contains("score_breakdown") || reply.at("score_breakdown").is_null()) return score;
    const nlohmann::json& breakdown = reply.at("score_breakdown");
    if (!breakdown.is_object()) {
      return scorer_error(prefix(what) + "\"score_breakdown\" must be an object, got " +
                          json_type_name(breakdown));
    }
    for (const auto& [key, value] : breakdown.items()) {
      if (!value.is_number() && !value.is_boolean()) {
        return scorer_error(prefix(what) + "\"score_breakdown." + key +
                            "\" must be a number, got " + value.dump());
      }
      score.breakdown[key] =
          value.is_boolean() ? (value.get<bool>() ? 1.0 : 0.0) : value.get<double>();
    }
    return score;
  }

  // Sends one request and returns the parsed reply object. Holds the mutex throughout: the
  // child reads one request at a time.
  Result<nlohmann::json> call(const nlohmann::json& request, const std::string& what) const {
    std::string line = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::lock_guard<std::mutex> lock(mutex_);
    for (int attempt = 0;; ++attempt) {
      if (process_ && !process_->reusable()) stop_process(std::chrono::seconds(1));
      if (!process_) FAPO_RETURN_IF_ERROR(start_process(what));
      LineProcess::Reply reply = process_->exchange(line, timeout_);
      if (reply.outcome == LineProcess::Outcome::kLine) return parse_reply(reply.line, what);
      if (reply.outcome != LineProcess::Outcome::kExited || attempt > 0) {
        return failure(reply, what, attempt > 0);
      }
      // It died (between requests or on this one): start it again and retry once.
      std::string ended = stop_process(std::chrono::seconds(2));
      spdlog::warn("command scorer '{}' {} while {}; restarting it", name_, ended, what);
    }
  }

  Result<nlohmann::json> parse_reply(const std::string& line, const std::string& what) const {
    nlohmann::json reply = nlohmann::json::parse(line, nullptr, false);
    if (!reply.is_discarded() && reply.is_object()) return reply;
    int line_number = process_->lines_read();
    // Whatever it prints next may belong to this request: start afresh next time.
    stop_process(std::chrono::milliseconds(200));
    return scorer_error(prefix(what) + "scorer printed " +
                        (reply.is_discarded() ? "non-JSON" : "JSON that is not an object") +
                        " on line " + std::to_string(line_number) + ": " + quote(line) +
                        " (the protocol allows exactly one JSON object per line on stdout; "
                        "write logs to stderr)");
  }

  Error failure(const LineProcess::Reply& reply, const std::string& what, bool restarted) const {
    using Outcome = LineProcess::Outcome;
    if (reply.outcome == Outcome::kTimeout) {
      stop_process(std::chrono::milliseconds(0));
      return scorer_error(prefix(what) +
                          fmt::format("no reply within {:g} s; the program was stopped (raise "
                                      "timeout_s if it needs longer)",
                                      static_cast<double>(timeout_.count()) / 1000.0) +
                          last_stderr_);
    }
    if (reply.outcome == Outcome::kStrayOutput) {
      stop_process(std::chrono::milliseconds(200));
      return scorer_error(prefix(what) + "it printed " + quote(reply.line) +
                          " before the request was sent (one reply line per request only)");
    }
    if (reply.outcome == Outcome::kTooLong) {
      stop_process(std::chrono::milliseconds(0));
      return scorer_error(prefix(what) + "reply line longer than " +
                          std::to_string(LineProcess::kMaxLineBytes / (1024 * 1024)) + " MiB");
    }
    std::string ended = stop_process(std::chrono::seconds(2));
    std::string message = prefix(what) + "the program " + ended;
    if (restarted) message += " (it was restarted once and failed again)";
    if (!reply.line.empty()) message += " after printing " + quote(reply.line);
    if (!reply.detail.empty()) message += "; " + reply.detail;
    return scorer_error(message + last_stderr_);
  }

  Status start_process(const std::string& what) const {
    // Python buffers stdout when it is a pipe; a scorer that forgets to flush still works.
    auto started = LineProcess::start(argv_, working_dir_, {"PYTHONUNBUFFERED=1"});
    if (!started.ok()) {
      return scorer_error(prefix(what) + "could not start '" + argv_[0] +
                          "': " + started.error().message +
                          " (check that it exists, is executable and that its #! line names an "
                          "installed interpreter)");
    }
    process_ = std::move(started).value();
    spdlog::debug("started command scorer '{}' (pid {})", name_, process_->pid());
    return ok_status();
  }

  // Stops the child and remembers its stderr tail for the error message.
  std::string stop_process(std::chrono::milliseconds grace) const {
    if (!process_) return "";
    std::string ended = process_->stop(grace);
    last_stderr_ = stderr_note(*process_);
    process_.reset();
    return ended;
  }

  const std::vector<std::string> argv_;  // argv_[0] resolved to a path
  const std::string name_;               // the program as configured, for messages
  const fs::path working_dir_;
  const std::chrono::milliseconds timeout_;

  mutable std::mutex mutex_;  // guards the members below and serialises requests
  mutable std::unique_ptr<LineProcess> process_;
  mutable std::string last_stderr_;
};

// The program of `command[0]`: an absolute path, a path relative to the tenant directory, or a
// bare name found in the tenant directory or else on PATH.
Result<fs::path> resolve_program(const ConfigReader& config, const std::string& program,
                                 const fs::path& tenant_dir) {
  std::string key = "command[0]";
  fs::path candidate = fs::path(program).is_absolute() ? fs::path(program) : tenant_dir / program;
  std::error_code ec;
  if (!fs::exists(candidate, ec) && program.find('/') == std::string::npos) {
    const char* path_env = std::getenv("PATH");
    for (const std::string& dir : split(path_env != nullptr ? path_env : "", ':')) {
      if (!dir.empty() && fs::exists(fs::path(dir) / program, ec)) {
        candidate = fs::path(dir) / program;
        break;
      }
    }
  }
  if (!fs::exists(candidate, ec)) {
    return scorer_error(config.path_of(key) + ": program '" + program + "' not found (looked in " +
                        tenant_dir.string() +
                        (program.find('/') == std::string::npos ? " and on PATH)" : ")"));
  }
  if (fs::is_directory(candidate, ec)) {
    return scorer_error(config.path_of(key) + ": '" + candidate.string() + "' is a directory");
  }
  if (::access(candidate.c_str(), X_OK) != 0) {
    return scorer_error(config.path_of(key) + ": program '" + candidate.string() +
                        "' is not executable; run chmod +x on it, or name its interpreter "
                        "first, e.g. [\"python3\", \"" +
                        program + "\"]");
  }
  return candidate;
}

}  // namespace

ScorerResult make_command_scorer(const ConfigReader& config, const fs::path& tenant_dir) {
  FAPO_RETURN_IF_ERROR(config.check_keys({"command", "timeout_s"}));
  std::vector<std::string> argv;
  if (config.has("command") && config.json().at("command").is_string()) {
    argv.push_back(config.json().at("command").get<std::string>());
  } else {
    FAPO_ASSIGN_OR_RETURN(argv, config.string_list("command", true));
  }
  if (argv.empty() || argv[0].empty()) {
    return config.error("command", "must name a program: [\"program\", \"arg\", ...]");
  }
  FAPO_ASSIGN_OR_RETURN(double timeout_s, config.number_or("timeout_s", 30));
  if (timeout_s <= 0 || timeout_s > 86400) {
    return config.error("timeout_s", "must be more than 0 and at most 86400 (a day)");
  }
  std::error_code ec;
  fs::path working_dir = fs::absolute(tenant_dir, ec);
  if (ec) working_dir = tenant_dir;
  std::string name = argv[0];
  FAPO_ASSIGN_OR_RETURN(fs::path program, resolve_program(config, argv[0], working_dir));
  argv[0] = program.string();
  auto timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
  return std::unique_ptr<Scorer>(std::make_unique<CommandScorer>(std::move(argv), std::move(name),
                                                                 std::move(working_dir), timeout));
}

}  // namespace fapo
