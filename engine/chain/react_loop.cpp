#include "engine/chain/react_loop.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "engine/base/strings.h"
#include "engine/chain/executor.h"
#include "engine/data/schema_check.h"

namespace fapo {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr const char* kNotProvided = "not provided by any tool provider";

double elapsed_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Compiled JSON Schemas of tool arguments, shared by every run of the process. Keyed by the
// schema's text rather than the tool's name: two runs may offer different tools under one
// name, and a compiled schema depends on nothing but its text.
class ArgumentSchemas {
 public:
  static ArgumentSchemas& instance() {
    static ArgumentSchemas schemas;
    return schemas;
  }

  // Why `arguments` violate `schema` ("field 'query': must be a string, got number"), or "".
  // A schema that does not compile checks nothing: the arguments are not at fault, and the
  // provider still has the last word on them.
  std::string violation(const json& schema, const json& arguments) {
    std::shared_ptr<const SchemaChecker> checker = compiled(schema);
    if (!checker) return "";
    std::vector<std::string> problems;
    for (const Diagnostic& diagnostic : checker->check(arguments, "", 0)) {
      problems.push_back(diagnostic.to_string());
    }
    return join(problems, "; ");
  }

 private:
  static constexpr std::size_t kMaxEntries = 1024;  // distinct schemas; far above real use

  std::shared_ptr<const SchemaChecker> compiled(const json& schema) {
    const std::string text = schema.dump();
    std::lock_guard lock(mutex_);
    if (auto found = by_text_.find(text); found != by_text_.end()) return found->second;
    if (by_text_.size() >= kMaxEntries) by_text_.clear();
    auto checker = SchemaChecker::from_text("tool arguments", text);
    std::shared_ptr<const SchemaChecker> entry;
    if (checker.ok()) entry = std::make_shared<const SchemaChecker>(std::move(*checker));
    by_text_.emplace(text, entry);
    return entry;
  }

  std::mutex mutex_;                                                     // guards by_text_
  std::map<std::string, std::shared_ptr<const SchemaChecker>> by_text_;  // null: did not compile
};

// Counts UTF-8 code points; continuation bytes (10xxxxxx) do not start one.
std::size_t utf8_length(const std::string& text) {
  std::size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

// The first `max_chars` code points of `text`.
std::string utf8_prefix(const std::string& text, std::size_t max_chars) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && seen++ == max_chars) {
      return text.substr(0, i);
    }
  }
  return text;
}

// What the model reads when a call failed: always starting with "error:", so a model (and the
// simulated one's rules) can tell a failure from a result.
std::string failure_text(const ToolResult& result) {
  std::string content = trim(result.content);
  if (content.empty()) content = result.error.empty() ? "the tool failed" : result.error;
  return starts_with(to_lower(content), "error") ? content : "error: " + content;
}

ToolResult refused(ToolErrorKind kind, const std::string& message) {
  return {"error: " + message, kind, message};
}

// The arguments as the trajectory records them: the parsed value, or the text when it is not
// JSON. Blank arguments mean none ({}), as some providers send them for tools without any.
json parsed_arguments(const std::string& text) {
  if (trim(text).empty()) return json::object();
  json parsed = json::parse(text, nullptr, false);
  return parsed.is_discarded() ? json(text) : parsed;
}

// One react step of one case, turn by turn.
class ReactLoop {
 public:
  ReactLoop(ReactRun run, StepTrace& trace)
      : run_(std::move(run)), step_(run_.step), trace_(trace) {}

  Status run() {
    offer_tools();
    for (int iteration = 1; iteration <= step_.max_iterations; ++iteration) {
      iterations_ = iteration;
      const bool none_turn = prepare_turn(iteration);
      FAPO_ASSIGN_OR_RETURN(ModelReply reply, ask());
      if (reply.tool_calls.empty()) return finish_answer(reply);
      if (none_turn) {
        refuse_all(reply.tool_calls, iteration, max_calls_message());
        return finish("max_calls", reply.text);
      }
      if (iteration == step_.max_iterations) {
        refuse_all(reply.tool_calls, iteration,
                   "not run: max_iterations (" + std::to_string(step_.max_iterations) +
                       ") reached, no model turn is left to read the result");
        return finish("max_iterations", reply.text);
      }
      run_calls(reply, iteration);
    }
    return ok_status();  // unreachable: the last iteration always finishes
  }

 private:
  // The step's tools that a provider defines are offered; the others are reported.
  void offer_tools() {
    const ToolSet* tools = run_.tools;
    for (const std::string& name : step_.tools) {
      const ToolDefinition* definition = tools ? tools->definition(name) : nullptr;
      if (definition != nullptr) {
        offered_.push_back(*definition);
        continue;
      }
      unavailable_[name] = unavailable_reason(name);
    }
    if (!unavailable_.empty()) trace_.detail["unavailable_tools"] = unavailable_;
  }

  std::string unavailable_reason(const std::string& name) const {
    if (run_.tools == nullptr) return kNotProvided;
    auto found = run_.tools->unavailable().find(name);
    return found == run_.tools->unavailable().end() ? kNotProvided : found->second;
  }

  bool is_offered(const std::string& name) const {
    for (const ToolDefinition& tool : offered_) {
      if (tool.name == name) return true;
    }
    return false;
  }

  // Sets the turn's tools; true when it offers them with tool_choice "none" (the case's calls
  // are spent). A forced choice ("required" or a tool's name) applies to the first turn only:
  // forced on every turn, the model could never answer.
  bool prepare_turn(int iteration) {
    ToolRequest& tools = run_.request.tools;
    if (offered_.empty()) {
      tools = {};
      return false;
    }
    tools.definitions = offered_;
    const std::string& choice = step_.tool_choice;
    const bool forced = !choice.empty() && choice != "auto";
    if (executed_ >= step_.max_calls) {
      tools.tool_choice = "none";
    } else if (forced && (iteration > 1 || (choice != "required" && !is_offered(choice)))) {
      tools.tool_choice = "auto";
    } else {
      tools.tool_choice = choice;
    }
    return tools.tool_choice == "none";
  }

  Result<ModelReply> ask() {
    if (run_.cancel != nullptr && run_.cancel->load(std::memory_order_relaxed)) {
      return make_error(ErrorCode::kCancelled, "cancelled");
    }
    auto start = Clock::now();
    auto reply = run_.model.complete(run_.request, run_.call_context);
    trace_.messages = run_.request.messages;
    trace_.model_calls += 1;
    if (!reply.ok()) {
      write_detail();
      return reply.error();
    }
    trace_.latency_ms += reply->latency_ms > 0 ? reply->latency_ms : elapsed_ms(start);
    trace_.tokens_in += reply->tokens_in;
    trace_.tokens_out += reply->tokens_out;
    all_cached_ = all_cached_ && reply->cached;
    if (!reply->sim_trace.is_null()) trace_.detail["sim"] = reply->sim_trace;
    return reply;
  }

  // Appends the assistant turn and one "tool" message per call, in the model's order.
  void run_calls(const ModelReply& reply, int iteration) {
    run_.request.messages.push_back({"assistant", reply.text, reply.tool_calls});
    for (std::size_t i = 0; i < reply.tool_calls.size(); ++i) {
      const ToolCall& call = reply.tool_calls[i];
      json entry = entry_for(call, iteration);
      auto start = Clock::now();
      Outcome outcome = attempt(call, static_cast<int>(i), entry["arguments"]);
      double latency = outcome.ran ? elapsed_ms(start) : 0;
      trace_.latency_ms += latency;
      std::string text =
          outcome.result.ok() ? outcome.result.content : failure_text(outcome.result);
      run_.request.messages.push_back({"tool", feed(text, entry), {}, call.id});
      record(entry, outcome, latency);
    }
  }

  struct Outcome {
    ToolResult result;
    std::string provider;  // "" when no provider has the tool
    bool ran = false;      // the provider was called
  };

  // Checks a call in the order the limits, permission and arguments apply, then runs it.
  Outcome attempt(const ToolCall& call, int position, const json& arguments) {
    Outcome out;
    if (position >= step_.max_calls_per_iteration) {
      out.result = refused(ToolErrorKind::kLimit,
                           "not run: at most " + std::to_string(step_.max_calls_per_iteration) +
                               " tool calls are run per turn (max_calls_per_iteration)");
      return out;
    }
    if (executed_ >= step_.max_calls) {
      out.result = refused(ToolErrorKind::kLimit, max_calls_message());
      return out;
    }
    ++executed_;  // every call past the limits counts, even one refused below
    ToolProvider* provider = run_.tools ? run_.tools->provider_of(call.name) : nullptr;
    if (provider != nullptr) out.provider = provider->name();
    if (!is_offered(call.name)) {
      out.result = not_offered(call.name, provider != nullptr);
      return out;
    }
    if (!arguments.is_object()) {
      out.result = refused(ToolErrorKind::kInvalidArguments,
                           "the arguments of '" + call.name + "' must be a JSON object, got: " +
                               truncate_utf8(call.arguments, 200));
      return out;
    }
    const ToolDefinition* definition = run_.tools->definition(call.name);
    std::string violation =
        ArgumentSchemas::instance().violation(definition->parameters, arguments);
    if (!violation.empty()) {
      out.result = refused(ToolErrorKind::kInvalidArguments,
                           "invalid arguments for '" + call.name + "': " + violation);
      return out;
    }
    auto timeout = std::chrono::milliseconds(static_cast<long long>(step_.tool_timeout_s * 1000));
    out.result = provider->call(call.name, arguments, timeout, run_.tool_context);
    out.ran = true;
    return out;
  }

  // A step's own tool whose server failed to start fails like a call to a down server
  // ("other", docs/tools.md); any other tool the step does not offer is a permission problem
  // when some provider has it, and unknown otherwise.
  ToolResult not_offered(const std::string& name, bool provided) const {
    if (auto reason = unavailable_.find(name); reason != unavailable_.end()) {
      return refused(ToolErrorKind::kOther,
                     "tool '" + name + "' is unavailable: " + reason->second);
    }
    if (provided) {
      return refused(ToolErrorKind::kPermission,
                     "tool '" + name + "' is not offered to step '" + step_.id +
                         "' (its tools: " + join(step_.tools, ", ") + ")");
    }
    return refused(ToolErrorKind::kUnknownTool, "there is no tool '" + name + "'");
  }

  std::string max_calls_message() const {
    return "not run: the step's " + std::to_string(step_.max_calls) +
           " tool calls for this case are spent (max_calls)";
  }

  json entry_for(const ToolCall& call, int iteration) const {
    return {{"iteration", iteration},
            {"call_id", call.id},
            {"tool", call.name},
            {"arguments", parsed_arguments(call.arguments)}};
  }

  // Cuts a result to max_result_chars, saying so, and notes its size in the entry.
  std::string feed(const std::string& text, json& entry) const {
    const std::size_t length = utf8_length(text);
    const auto limit = static_cast<std::size_t>(step_.max_result_chars);
    entry["result_chars"] = length;
    entry["truncated"] = length > limit;
    if (length <= limit) return text;
    return utf8_prefix(text, limit) + "\n[truncated: " + std::to_string(limit) + " of " +
           std::to_string(length) + " characters shown]";
  }

  void record(json& entry, const Outcome& outcome, double latency) {
    entry["latency_ms"] = latency;
    if (!outcome.result.ok()) {
      entry["error_kind"] = tool_error_kind_name(outcome.result.error_kind);
      entry["error"] =
          outcome.result.error.empty() ? failure_text(outcome.result) : outcome.result.error;
    }
    if (!outcome.provider.empty()) entry["provider"] = outcome.provider;
    trajectory_.push_back(std::move(entry));
  }

  // Calls of a turn that ends the loop: recorded, never run, never answered.
  void refuse_all(const std::vector<ToolCall>& calls, int iteration, const std::string& why) {
    for (const ToolCall& call : calls) {
      json entry = entry_for(call, iteration);
      Outcome outcome;
      outcome.result = refused(ToolErrorKind::kLimit, why);
      ToolProvider* provider = run_.tools ? run_.tools->provider_of(call.name) : nullptr;
      if (provider != nullptr) outcome.provider = provider->name();
      feed(failure_text(outcome.result), entry);
      record(entry, outcome, 0);
    }
  }

  // The parse rule reads only a final answer; a turn cut short by a limit is kept as it is.
  Status finish_answer(const ModelReply& reply) {
    auto parsed = parse_reply(step_.parse, reply.text, run_.parse_regex);
    if (!parsed) trace_.detail["parse_failed"] = true;
    if (reply.finish_reason != "stop") trace_.detail["finish_reason"] = reply.finish_reason;
    return finish("answer", reply.text, parsed.value_or(reply.text));
  }

  Status finish(const char* stop_reason, const std::string& text) {
    return finish(stop_reason, text, text);
  }

  Status finish(const char* stop_reason, const std::string& text, std::string output) {
    trace_.raw_reply = text;
    trace_.output = std::move(output);
    trace_.cached = all_cached_;
    trace_.detail["stop_reason"] = stop_reason;
    write_detail();
    return ok_status();
  }

  void write_detail() {
    trace_.detail["trajectory"] = trajectory_;
    trace_.detail["iterations"] = iterations_;
    trace_.detail["tool_calls"] = executed_;
  }

  ReactRun run_;
  const StepDef& step_;
  StepTrace& trace_;
  std::vector<ToolDefinition> offered_;  // the step's tools that a provider defines
  std::map<std::string, std::string> unavailable_;
  json trajectory_ = json::array();
  int iterations_ = 0;
  int executed_ = 0;  // calls not refused by a limit
  bool all_cached_ = true;
};

}  // namespace

Status run_react(ReactRun run, StepTrace& trace) { return ReactLoop(std::move(run), trace).run(); }

}  // namespace fapo
