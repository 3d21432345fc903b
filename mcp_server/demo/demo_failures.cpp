// Step 6 of `fapo demo`: why do the baseline's cases fail? With the attribute tool, the
// server's own clusters; without it, what an agent would do by hand: list the failed cases,
// group their final outputs by shape, and read the trace of one case of each shape.
#include <array>

#include "engine/base/strings.h"
#include "mcp_server/demo/demo_steps.h"

namespace fapo::demo {
namespace {

using nlohmann::json;

// The first of `keys` present in `object` as a string (or a number, printed).
std::string first_text(const json& object, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (!object.contains(key)) continue;
    const json& value = object[key];
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number()) return value.dump();
  }
  return "";
}

// A cluster's size: a count, or the length of its list of cases.
long long cluster_size(const json& cluster) {
  for (const char* key : {"count", "case_count", "cases", "size", "failed_cases"}) {
    if (!cluster.contains(key)) continue;
    if (cluster[key].is_number()) return cluster[key].get<long long>();
    if (cluster[key].is_array()) return static_cast<long long>(cluster[key].size());
  }
  return -1;
}

enum class Shape { kHedge, kSentence, kShort };
constexpr std::array<const char*, 3> kShapeNames = {
    "hedges or refuses", "wraps an answer in a sentence", "gives a short but wrong answer"};

Shape shape_of(const std::string& output) {
  std::string lower = to_lower(output);
  for (const char* hedge : {"cannot determine", "i cannot", "i am not sure", "not sure",
                            "unable to", "i don't know"}) {
    if (lower.find(hedge) != std::string::npos) return Shape::kHedge;
  }
  return word_count(output) > 6 ? Shape::kSentence : Shape::kShort;
}

// One case's trace, as the agent reads it: the question, the expected answer (and the bridge
// fact, when the case names one) and the output of each model step.
Status show_case(Demo& demo, const std::string& case_id) {
  json args = {{"tenant_id", demo.state.tenant}, {"run_id", demo.state.baseline_run},
               {"case_id", case_id}, {"max_chars", 400}};
  FAPO_ASSIGN_OR_RETURN(json trace, demo.session->call("get_case", args, {"case_id"}));
  const json data = trace.value("case", json::object());
  const json context = data.is_object() ? data.value("context", json::object()) : json::object();
  const json expected = data.is_object() ? data.value("expected", json::object()) : json();
  std::string bridge = expected.is_object() ? text_at(expected, "bridge") : "";
  std::string line = "Q: " + excerpt(text_at(context, "question", context.dump()), 90);
  if (expected.is_object() && expected.contains("answer")) {
    line += "  expected: " + excerpt(text_at(expected, "answer", expected["answer"].dump()), 40);
    if (!bridge.empty()) line += " (via " + bridge + ")";
  }
  demo.narrator.reply(line);
  for (const json& step : trace.value("steps", json::array())) {
    if (text_at(step, "kind") != "llm") continue;
    std::string output = text_at(step, "output");
    std::string note;
    if (!bridge.empty() && text_at(step, "step_id") != "answer") {
      bool named = to_lower(output).find(to_lower(bridge)) != std::string::npos;
      note = named ? "" : "   [does not name " + bridge + "]";
    }
    demo.narrator.detail(text_at(step, "step_id") + " → \"" + excerpt(output, 80) + "\"" + note,
                         note.empty() ? Style::kPlain : Style::kBad);
  }
  return ok_status();
}

Status inspect_by_hand(Demo& demo) {
  demo.narrator.agent("This server has no attribute tool, so read the failed cases directly: "
                      "list them, group the final outputs by shape, and trace one of each.");
  json args = {{"tenant_id", demo.state.tenant}, {"run_id", demo.state.baseline_run},
               {"failed_only", true}, {"limit", 100}};
  FAPO_ASSIGN_OR_RETURN(json listed, demo.session->call("list_cases", args,
                                                        {"run_id", "failed_only", "limit"}));
  std::array<int, 3> counts{};
  std::array<std::string, 3> examples;
  const json cases = listed.value("cases", json::array());
  for (const json& item : cases) {
    auto shape = static_cast<std::size_t>(shape_of(text_at(item, "final_output")));
    ++counts[shape];
    if (examples[shape].empty()) examples[shape] = text_at(item, "case_id");
  }
  demo.narrator.reply(std::to_string(listed.value("failed_total", 0)) + " of " +
                      std::to_string(listed.value("plan_cases", 0)) +
                      " cases failed in some trial; their final output:");
  for (std::size_t shape = 0; shape < counts.size(); ++shape) {
    demo.narrator.detail(std::to_string(counts[shape]) + " " + kShapeNames[shape]);
  }
  for (std::size_t shape = 0; shape < examples.size(); ++shape) {
    if (!examples[shape].empty()) FAPO_RETURN_IF_ERROR(show_case(demo, examples[shape]));
  }
  int form = counts[static_cast<std::size_t>(Shape::kHedge)] +
             counts[static_cast<std::size_t>(Shape::kSentence)];
  demo.narrator.agent(
      "Reading: " + std::to_string(form) + " failures are the answer's form (a hedge, or a sentence "
      "exact match cannot read). Earlier in the chain, some summaries lose the bridge entity, and "
      "then the second query only repeats the question. Fix one failure mode at a time, biggest "
      "first.");
  return ok_status();
}

}  // namespace

void print_attribution(Narrator& narrator, const json& attribution) {
  if (auto failed = number_at(attribution, "failed_cases")) {
    narrator.reply(format_count(static_cast<long long>(*failed)) + " of " +
                   attribution.value("cases", json("?")).dump() + " cases failed");
  }
  const json clusters = attribution.value("clusters", json::array());
  if (!clusters.is_array() || clusters.empty()) {
    narrator.reply("no clusters in the reply: " + excerpt(attribution.dump(), 200));
    return;
  }
  narrator.reply(std::to_string(clusters.size()) + " clusters of failures:");
  std::size_t shown = 0;
  for (const json& cluster : clusters) {
    if (++shown > 6) {
      narrator.detail("… and " + std::to_string(clusters.size() - 6) + " more");
      break;
    }
    std::string what = first_text(cluster, {"failure_class", "class", "kind", "category"});
    std::string step = first_text(cluster, {"step_id", "step"});
    std::string pattern = first_text(cluster, {"output_pattern", "pattern"});
    std::string level = first_text(cluster, {"recommended_level", "level", "recommendation"});
    long long size = cluster_size(cluster);
    std::string line = (size >= 0 ? std::to_string(size) + " × " : "") + what;
    if (!step.empty()) line += " at " + step;
    if (!pattern.empty()) line += " (" + pattern + ")";
    if (!level.empty()) line += " → fix at the " + level + " level";
    narrator.detail(line);
  }
  for (const json& ceiling : attribution.value("ceilings", json::array())) {
    auto reach = number_at(ceiling, "cumulative_ceiling");
    if (reach && ceiling.contains("level") && ceiling["level"].is_string()) {
      narrator.detail("fixing everything up to the " + ceiling["level"].get<std::string>() +
                          " level could reach about " + format_score(*reach),
                      Style::kDim);
    }
  }
  std::string recommendation = text_at(attribution, "recommendation");
  if (!recommendation.empty()) narrator.detail("server: " + excerpt(recommendation, 300));
}

Status step_inspect_failures(Demo& demo) {
  if (!demo.session->offers("attribute")) return inspect_by_hand(demo);
  demo.narrator.agent("Ask the server which step broke in each failed case, and why.");
  json args = {{"tenant_id", demo.state.tenant}, {"run_id", demo.state.baseline_run}};
  FAPO_ASSIGN_OR_RETURN(json attribution, demo.session->call("attribute", args, {"run_id"}));
  print_attribution(demo.narrator, attribution);
  return ok_status();
}

}  // namespace fapo::demo
