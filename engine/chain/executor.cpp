#include "engine/chain/executor.h"

#include <chrono>
#include <set>

#include "engine/base/strings.h"
#include "engine/chain/react_loop.h"

namespace fapo {
namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

bool is_model_failure(const Error& error) {
  return error.code == ErrorCode::kModelTransient || error.code == ErrorCode::kModelPermanent;
}

std::string dedupe_lines(const std::string& text) {
  std::set<std::string> seen;
  std::vector<std::string> kept;
  for (const std::string& line : split(text, '\n')) {
    if (seen.insert(trim(line)).second) kept.push_back(line);
  }
  return join(kept, "\n");
}

std::string truncate_words(const std::string& text, int max_words) {
  std::string out;
  int words = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c));
    if (!space && !in_word && ++words > max_words) break;
    in_word = !space;
    out.push_back(c);
  }
  return trim(out);
}

}  // namespace

std::optional<std::string> parse_reply(const ParseSpec& spec, const std::string& reply,
                                       const std::regex* compiled) {
  switch (spec.mode) {
    case ParseSpec::Mode::kNone:
      return reply;
    case ParseSpec::Mode::kRegex: {
      std::smatch match;
      if (!compiled || !std::regex_search(reply, match, *compiled)) return std::nullopt;
      if (static_cast<std::size_t>(spec.group) >= match.size()) return std::nullopt;
      return trim(match[spec.group].str());
    }
    case ParseSpec::Mode::kJsonField: {
      // Tolerate prose around the object: parse from the first '{' to the last '}'.
      auto open = reply.find('{');
      auto close = reply.rfind('}');
      if (open == std::string::npos || close == std::string::npos || close < open) {
        return std::nullopt;
      }
      auto json = nlohmann::json::parse(reply.substr(open, close - open + 1), nullptr, false);
      if (json.is_discarded() || !json.is_object() || !json.contains(spec.field)) {
        return std::nullopt;
      }
      const auto& value = json[spec.field];
      return value.is_string() ? value.get<std::string>() : value.dump();
    }
    case ParseSpec::Mode::kDelimiter: {
      auto position = reply.rfind(spec.delimiter);
      if (position == std::string::npos) return std::nullopt;
      return trim(reply.substr(position + spec.delimiter.size()));
    }
  }
  return std::nullopt;
}

ChainExecutor::ChainExecutor(const CompiledChain& chain, ModelClient& model,
                             const Bm25Index* index, ExecutionSettings settings,
                             const ToolSet* tools)
    : chain_(chain), model_(model), index_(index), settings_(std::move(settings)), tools_(tools) {
  // Patterns were validated when the chain was parsed, so construction cannot throw here.
  for (const StepDef* step : all_steps(chain_.def())) {
    for (const auto* condition : {step->when ? &*step->when : nullptr,
                                  step->until ? &*step->until : nullptr}) {
      if (condition && condition->matches) {
        regexes_.emplace(condition, std::regex(*condition->matches,
                                               std::regex::ECMAScript | std::regex::icase));
      }
    }
    if (step->parse.mode == ParseSpec::Mode::kRegex) {
      regexes_.emplace(&step->parse, std::regex(step->parse.pattern, std::regex::ECMAScript));
    }
    if (step->kind == StepKind::kTransform && step->op == "extract") {
      regexes_.emplace(step, std::regex(step->pattern, std::regex::ECMAScript));
    }
  }
}

// The state of one case while it runs: step outputs and the growing trace.
class ChainExecutor::CaseRun {
 public:
  CaseRun(const ChainExecutor& executor, const Case& case_data, int trial,
          const std::atomic<bool>* cancel, const ReplayStart* replay = nullptr)
      : executor_(executor), case_(case_data), trial_(trial), cancel_(cancel), replay_(replay) {
    trace_.case_id = case_data.case_id;
  }

  Result<CaseTrace> run() {
    auto start = Clock::now();
    std::size_t first = 0;
    if (replay_ != nullptr) {
      FAPO_ASSIGN_OR_RETURN(first, supply(*replay_));
    }
    Status status = run_sequence(executor_.chain_.def().steps, 0, first);
    if (!status.ok()) {
      if (status.error().code == ErrorCode::kCancelled) return status.error();
      trace_.error = status.error().message;
      trace_.infrastructure_failure = is_model_failure(status.error());
    } else {
      trace_.final_output = output_of(executor_.chain_.def().output);
    }
    trace_.latency_ms = elapsed_ms(start);
    for (const StepTrace& step : trace_.steps) {
      trace_.tokens_in += step.tokens_in;
      trace_.tokens_out += step.tokens_out;
      trace_.model_calls += step.model_calls;
    }
    return std::move(trace_);
  }

 private:
  // Takes the outputs a replay supplies and records them in the trace; returns the position of
  // the first step to run.
  Result<std::size_t> supply(const ReplayStart& replay) {
    const std::vector<StepDef>& steps = executor_.chain_.def().steps;
    std::size_t first = 0;
    while (first < steps.size() && steps[first].id != replay.from_step) ++first;
    if (first == steps.size()) {
      return make_error(ErrorCode::kInvalidInput, "replay: '" + replay.from_step +
                                                      "' is not a top-level step of the chain");
    }
    const std::vector<StepDef> before(steps.begin(), steps.begin() + static_cast<long>(first));
    std::set<std::string> known;
    for (const StepDef* step : all_steps(before)) known.insert(step->id);
    for (const auto& [id, output] : replay.outputs) {
      if (!known.count(id)) {
        return make_error(ErrorCode::kInvalidInput,
                          "replay: an output was supplied for step '" + id +
                              "', which is not a step before '" + replay.from_step + "'");
      }
    }
    for (const StepDef* step : all_steps(before)) {
      auto supplied = replay.outputs.find(step->id);
      if (supplied == replay.outputs.end()) continue;
      StepTrace trace;
      trace.step_id = step->id;
      trace.kind = step_kind_name(step->kind);
      trace.output = supplied->second;
      trace.detail["supplied"] = true;
      outputs_[step->id] = supplied->second;
      trace_.steps.push_back(std::move(trace));
    }
    if (replay.resample > 0) resampled_ = &steps[first];
    return first;
  }

  std::string output_of(const std::string& step_id) const {
    auto found = outputs_.find(step_id);
    return found == outputs_.end() ? std::string() : found->second;
  }

  bool holds(const Condition& condition) const {
    std::string output = output_of(condition.step);
    bool result = condition.empty ? trim(output).empty()
                                  : std::regex_search(output, executor_.regexes_.at(&condition));
    return result != condition.negate;
  }

  Status run_sequence(const std::vector<StepDef>& steps, int iteration, std::size_t first = 0) {
    for (std::size_t i = first; i < steps.size(); ++i) {
      const StepDef& step = steps[i];
      StepTrace trace;
      trace.step_id = step.id;
      trace.kind = step_kind_name(step.kind);
      trace.iteration = iteration;
      if (step.when && !holds(*step.when)) {
        trace.skipped = true;
        outputs_[step.id] = "";
        trace_.steps.push_back(std::move(trace));
        continue;
      }
      auto start = Clock::now();
      const bool resampled = &step == resampled_;
      if (resampled) sample_shift_ = replay_->resample * kResampleStride;
      Status status = run_step(step, iteration, trace);
      if (resampled) sample_shift_ = 0;
      if (trace.latency_ms == 0) trace.latency_ms = elapsed_ms(start);
      if (!status.ok()) {
        if (status.error().code == ErrorCode::kCancelled) return status;
        trace.error = status.error().message;
        trace.infrastructure_error = is_model_failure(status.error());
        trace_.steps.push_back(std::move(trace));
        return status;
      }
      outputs_[step.id] = trace.output;
      trace_.steps.push_back(std::move(trace));
      if (!step.next.empty()) {
        while (i + 1 < steps.size() && steps[i + 1].id != step.next) ++i;
      }
    }
    return ok_status();
  }

  Status run_step(const StepDef& step, int iteration, StepTrace& trace) {
    switch (step.kind) {
      case StepKind::kLlm:
        return run_llm(step, 0, trace);
      case StepKind::kRetrieve:
        return run_retrieve(step, trace);
      case StepKind::kTransform:
        return run_transform(step, trace);
      case StepKind::kVote:
        return run_vote(step, trace);
      case StepKind::kLoop:
        return run_loop(step, iteration, trace);
      case StepKind::kReact:
        return run_react_step(step, trace);
    }
    return ok_status();
  }

  Result<std::string> render(const Template& text) const {
    return text.render(make_variable_source(case_.context, outputs_));
  }

  // The request of an llm step, or the first turn of a react step: the rendered prompt and the
  // step's sampling settings over the task model's.
  Result<ModelRequest> first_request(const StepDef& step, int vote_index) const {
    FAPO_ASSIGN_OR_RETURN(auto messages, executor_.chain_.prompt(step).render(
                                             make_variable_source(case_.context, outputs_)));
    ModelRequest request;
    request.model = executor_.settings_.model_name;
    request.messages = std::move(messages);
    request.sampling = executor_.settings_.sampling;
    if (step.temperature) request.sampling.temperature = *step.temperature;
    if (step.top_p) request.sampling.top_p = *step.top_p;
    if (step.max_tokens) request.sampling.max_tokens = *step.max_tokens;
    // Trials and vote samples must draw independently; 100 > the largest vote n (25).
    request.sample_index = trial_ * 100 + vote_index + sample_shift_;
    return request;
  }

  const std::regex* parse_regex(const StepDef& step) const {
    auto found = executor_.regexes_.find(&step.parse);
    return found == executor_.regexes_.end() ? nullptr : &found->second;
  }

  Status run_llm(const StepDef& step, int vote_index, StepTrace& trace) {
    if (executor_.cancel_requested(cancel_)) {
      return make_error(ErrorCode::kCancelled, "cancelled");
    }
    FAPO_ASSIGN_OR_RETURN(ModelRequest request, first_request(step, vote_index));
    CallContext context{&case_, step.id, trial_};
    auto start = Clock::now();
    auto reply = executor_.model_.complete(request, context);
    trace.messages = request.messages;
    trace.model_calls += 1;
    if (!reply.ok()) return reply.error();
    trace.latency_ms += reply->latency_ms > 0 ? reply->latency_ms : elapsed_ms(start);
    trace.tokens_in += reply->tokens_in;
    trace.tokens_out += reply->tokens_out;
    trace.cached = reply->cached;
    trace.raw_reply = reply->text;
    if (!reply->sim_trace.is_null()) trace.detail["sim"] = reply->sim_trace;
    if (reply->finish_reason != "stop") trace.detail["finish_reason"] = reply->finish_reason;
    auto parsed = parse_reply(step.parse, reply->text, parse_regex(step));
    if (!parsed) trace.detail["parse_failed"] = true;
    trace.output = parsed.value_or(reply->text);
    return ok_status();
  }

  // Every turn of the loop uses the first turn's sample index (react_loop.h).
  Status run_react_step(const StepDef& step, StepTrace& trace) {
    if (executor_.cancel_requested(cancel_)) {
      return make_error(ErrorCode::kCancelled, "cancelled");
    }
    FAPO_ASSIGN_OR_RETURN(ModelRequest request, first_request(step, 0));
    ToolCallContext tools{case_.case_id, trial_, step.id, step.search_k, cancel_};
    return run_react({step, executor_.model_, executor_.tools_, std::move(request),
                      CallContext{&case_, step.id, trial_}, std::move(tools), cancel_,
                      parse_regex(step)},
                     trace);
  }

  Status run_retrieve(const StepDef& step, StepTrace& trace) {
    FAPO_ASSIGN_OR_RETURN(std::string query, render(executor_.chain_.text(step, "query")));
    trace.detail["query"] = query;
    if (executor_.index_ == nullptr) {
      return make_error(ErrorCode::kInvalidInput, "step '" + step.id + "': no corpus loaded");
    }
    auto hits = executor_.index_->search(query, step.k);
    nlohmann::json passages = nlohmann::json::array();
    for (const RetrievalHit& hit : hits) {
      passages.push_back(executor_.index_->passage(hit.index).id);
    }
    trace.detail["passage_ids"] = std::move(passages);
    trace.output = format_passages(*executor_.index_, hits);
    return ok_status();
  }

  Status run_transform(const StepDef& step, StepTrace& trace) {
    if (step.op == "join") {
      std::vector<std::string> parts;
      for (std::size_t i = 0; i < step.inputs.size(); ++i) {
        FAPO_ASSIGN_OR_RETURN(std::string part,
                              render(executor_.chain_.text(step, "inputs[" + std::to_string(i) + "]")));
        if (!trim(part).empty()) parts.push_back(std::move(part));
      }
      trace.output = join(parts, step.separator);
      return ok_status();
    }
    FAPO_ASSIGN_OR_RETURN(std::string input, render(executor_.chain_.text(step, "input")));
    if (step.op == "extract") {
      std::smatch match;
      const std::regex& regex = executor_.regexes_.at(&step);
      bool found = std::regex_search(input, match, regex) &&
                   static_cast<std::size_t>(step.group) < match.size();
      trace.output = found ? trim(match[step.group].str()) : "";
    } else if (step.op == "dedupe") {
      trace.output = dedupe_lines(input);
    } else if (step.op == "truncate") {
      std::string out = step.max_words ? truncate_words(input, *step.max_words) : input;
      if (step.max_chars) out = truncate_utf8(out, static_cast<std::size_t>(*step.max_chars));
      trace.output = out;
    } else {
      trace.output = input;  // "template"
    }
    return ok_status();
  }

  // Self-consistency: n samples of the inner step; the most frequent normalised answer wins,
  // ties going to the earliest sample, whose original text becomes the output.
  Status run_vote(const StepDef& step, StepTrace& trace) {
    const StepDef& inner = step.inner.front();
    std::map<std::string, int> counts;
    std::vector<std::pair<std::string, std::string>> samples;  // normalised, original
    nlohmann::json votes = nlohmann::json::array();
    for (int i = 0; i < step.n; ++i) {
      StepTrace sample;
      FAPO_RETURN_IF_ERROR(run_llm(inner, i, sample));
      trace.tokens_in += sample.tokens_in;
      trace.tokens_out += sample.tokens_out;
      trace.model_calls += sample.model_calls;
      trace.latency_ms += sample.latency_ms;
      if (i == 0) trace.messages = sample.messages;
      std::string normalised = normalize_answer(sample.output);
      counts[normalised] += 1;
      samples.emplace_back(normalised, sample.output);
      votes.push_back(sample.output);
    }
    const std::pair<std::string, std::string>* winner = &samples.front();
    for (const auto& sample : samples) {
      if (counts[sample.first] > counts[winner->first]) winner = &sample;
    }
    trace.output = winner->second;
    trace.detail["votes"] = std::move(votes);
    return ok_status();
  }

  Status run_loop(const StepDef& step, int outer_iteration, StepTrace& trace) {
    // Body steps may read each other; before they first run, their outputs are empty.
    for (const StepDef* body : all_steps(step.steps)) outputs_.try_emplace(body->id);
    int iterations = 0;
    for (int iteration = 1; iteration <= step.max_iterations; ++iteration) {
      iterations = iteration;
      FAPO_RETURN_IF_ERROR(run_sequence(step.steps, outer_iteration * 100 + iteration));
      if (step.until && holds(*step.until)) break;
    }
    trace.output = output_of(step.steps.back().id);
    trace.detail["iterations"] = iterations;
    return ok_status();
  }

  const ChainExecutor& executor_;
  const Case& case_;
  int trial_;
  const std::atomic<bool>* cancel_;
  const ReplayStart* replay_;             // null for an ordinary run
  const StepDef* resampled_ = nullptr;    // the replay's from_step, when it resamples
  int sample_shift_ = 0;                  // added to sample indices while it runs
  std::map<std::string, std::string> outputs_;
  CaseTrace trace_;
};

bool ChainExecutor::cancel_requested(const std::atomic<bool>* cancel) const {
  return cancel != nullptr && cancel->load(std::memory_order_relaxed);
}

Result<CaseTrace> ChainExecutor::run(const Case& case_data, int trial,
                                     const std::atomic<bool>* cancel) const {
  return CaseRun(*this, case_data, trial, cancel).run();
}

Result<CaseTrace> ChainExecutor::run_from(const Case& case_data, int trial,
                                          const ReplayStart& start,
                                          const std::atomic<bool>* cancel) const {
  return CaseRun(*this, case_data, trial, cancel, &start).run();
}

}  // namespace fapo
