// The optimisation loop of `fapo demo`: proposals, reviews, comparisons and the note that
// closes the prompt level. The edits are the fixes tenants/multihop_qa/README.md documents
// for the failure modes built into its simulated model, one failure mode per variant.
#include <set>

#include "engine/base/strings.h"
#include "mcp_server/demo/demo_steps.h"

namespace fapo::demo {
namespace {

using nlohmann::json;

constexpr char kShortAnswer[] =
    "Answer the question with a short answer: only the answer, in a few words. Always answer; "
    "if unsure, give your best guess.";
constexpr char kKeepNames[] =
    "Keep every name (people, places, organisations) the passages mention.";
constexpr char kConnectedEntity[] =
    "Use the notes and both sets of passages: the answer is the entity the passages connect to "
    "the question's subject, not one that merely shares a word with it.";
// compare waits at most 50 s per call; still evaluating after this many calls means stuck.
constexpr int kMaxComparePolls = 12;

struct Proposal {
  std::string intent;      // why the agent proposes this, in its words
  std::string hypothesis;  // sent to the server, journaled with the variant
  std::map<std::string, std::string> prompts;
  json parameters;  // {"<step_id>": {"<field>": value}} or null
};

// `text` with the line equal to `old_line` replaced by `new_line`, or with `new_line` appended
// when no line matches (a tenant whose prompt was edited still gets the instruction).
std::string with_line(const std::string& text, const std::string& old_line,
                      const std::string& new_line) {
  std::vector<std::string> lines = split(text, '\n');
  for (std::string& line : lines) {
    if (!old_line.empty() && trim(line) == old_line) {
      line = new_line;
      return join(lines, "\n");
    }
  }
  std::string out = text;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out + "\n" + new_line + "\n";
}

// Prints the lines `after` adds to and removes from `before`, like a diff without context.
void print_prompt_change(Narrator& narrator, const std::string& file, const std::string& before,
                         const std::string& after) {
  std::vector<std::string> old_lines = split(before, '\n');
  std::vector<std::string> new_lines = split(after, '\n');
  std::multiset<std::string> old_set(old_lines.begin(), old_lines.end());
  std::multiset<std::string> new_set(new_lines.begin(), new_lines.end());
  narrator.detail(file + ":", Style::kDim);
  for (const std::string& line : old_lines) {
    if (!trim(line).empty() && new_set.count(line) == 0) narrator.detail("- " + line, Style::kBad);
  }
  for (const std::string& line : new_lines) {
    if (!trim(line).empty() && old_set.count(line) == 0) narrator.detail("+ " + line, Style::kGood);
  }
}

Status propose(Demo& demo, const Proposal& proposal) {
  demo.narrator.agent(proposal.intent);
  json args = {{"tenant_id", demo.state.tenant}, {"parent", "best"},
               {"hypothesis", proposal.hypothesis}};
  std::vector<std::string> shown = {"parent", "hypothesis"};
  if (!proposal.prompts.empty()) {
    args["prompts"] = proposal.prompts;
    shown.push_back("prompts");
  }
  if (!proposal.parameters.is_null()) {
    args["parameters"] = proposal.parameters;
    shown.push_back("parameters");
  }
  demo.state.candidate_prompts = demo.state.best_prompts;
  for (const auto& [file, text] : proposal.prompts) {
    print_prompt_change(demo.narrator, file, demo.state.best_prompts[file], text);
    demo.state.candidate_prompts[file] = text;
  }
  demo.state.candidate_settings = demo.state.best_settings;
  if (proposal.parameters.is_object()) {
    for (const auto& [step, fields] : proposal.parameters.items()) {
      for (const auto& [field, value] : fields.items()) {
        json& setting = demo.state.candidate_settings[step][field];
        std::string before = setting.is_null() ? "(unset)" : setting.dump();
        demo.narrator.detail(step + "." + field + ": " + before + " → " + value.dump(),
                             Style::kGood);
        setting = value;
      }
    }
  }
  FAPO_ASSIGN_OR_RETURN(json reply, demo.session->call("propose_variant", args, shown));
  Attempt attempt;
  attempt.name = text_at(reply, "name", text_at(reply, "variant_id"));
  attempt.level = text_at(reply, "level", "?");
  std::vector<std::string> edited;
  for (const json& step : reply.value("edited_steps", json::array())) {
    if (step.is_string()) edited.push_back(step.get<std::string>());
  }
  demo.narrator.reply("stored as " + attempt.name + " (" + excerpt(text_at(reply, "variant_id"), 13) +
                      "), parent " + text_at(reply, "parent", "?") + ", level " + attempt.level +
                      " (computed by the server), edits " +
                      (edited.empty() ? "nothing?" : join(edited, ", ")));
  demo.state.attempts.push_back(attempt);
  return ok_status();
}

std::string interval_text(const json& compared) {
  const json interval = compared.value("interval", json::array());
  if (!interval.is_array() || interval.size() != 2 || !interval[0].is_number() ||
      !interval[1].is_number()) {
    return "";
  }
  return ", " + format_percent(compared.value("confidence", 0.95)) + " interval [" +
         format_signed(interval[0].get<double>()) + ", " +
         format_signed(interval[1].get<double>()) + "]";
}

void print_comparison(Narrator& narrator, const json& compared, const std::string& candidate,
                      const std::string& incumbent) {
  const json trials = compared.value("trials", json::object());
  std::string header = candidate + " vs " + incumbent + " on validation (" +
                       std::to_string(compared.value("cases", 0)) + " cases, " +
                       trials.value("candidate", json("?")).dump() + " + " +
                       trials.value("incumbent", json("?")).dump() + " trials): ";
  auto difference = number_at(compared, "mean_difference");
  header += difference ? format_signed(*difference) + " points" : "no difference reported";
  header += interval_text(compared);
  if (auto p = number_at(compared, "p_value")) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3g", *p);
    header += ", p = " + std::string(buffer);
  }
  narrator.reply(header);
  std::string counts = std::to_string(compared.value("improved", 0)) + " cases improved, " +
                       std::to_string(compared.value("regressed", 0)) + " regressed, " +
                       std::to_string(compared.value("unchanged", 0)) + " unchanged";
  if (auto noise = number_at(compared, "noise_floor")) {
    counts += "; noise floor " + format_score(*noise);
  }
  narrator.detail(counts);
}

}  // namespace

Status step_propose_short_answer(Demo& demo) {
  Proposal proposal;
  proposal.intent =
      "The biggest group of failures is the answer step's form: hedges and sentences around the "
      "answer, which exact match rejects. Fix that one failure mode in the answer prompt only.";
  proposal.hypothesis =
      "Failed answers hedge ('I cannot determine...') or wrap the answer in a sentence, and exact "
      "match rejects both. Asking for only the answer, and for a best guess instead of a refusal, "
      "turns them into bare answers.";
  proposal.prompts["answer.md"] =
      with_line(demo.state.best_prompts["answer.md"], "Answer the question.", kShortAnswer);
  return propose(demo, proposal);
}

Status step_propose_keep_names(Demo& demo) {
  Proposal proposal;
  proposal.intent =
      "Next failure mode, one step earlier: in some failed cases the notes never name the "
      "bridge entity, so the second query repeats the question and the second search finds "
      "nothing new. Tell the summary step to keep every name.";
  proposal.hypothesis =
      "The summary drops the bridge entity, so query2 cannot search for it and the answer step "
      "lacks the evidence. Asking the summary to keep every name the passages mention keeps the "
      "bridge in the notes.";
  proposal.prompts["summarize.md"] =
      with_line(demo.state.best_prompts["summarize.md"], "", kKeepNames);
  return propose(demo, proposal);
}

Status step_propose_connected_entity(Demo& demo) {
  Proposal proposal;
  proposal.intent =
      "Some answers are still wrong names, often names from a confuser article that shares a word "
      "with the subject. Try telling the answer step which entity to pick. (The tenant's README "
      "warns that no instruction fixes answers whose evidence was never retrieved, so expect no "
      "real gain: the comparison will tell.)";
  proposal.hypothesis =
      "Wrong answers pick an entity from a passage that only shares a word with the question's "
      "subject. Telling the answer step to use the entity the passages connect to the subject "
      "avoids those confusions.";
  proposal.prompts["answer.md"] =
      with_line(demo.state.best_prompts["answer.md"], "", kConnectedEntity);
  return propose(demo, proposal);
}

Status step_propose_more_passages(Demo& demo) {
  Proposal proposal;
  proposal.intent =
      "Escalate one level: parameters. The failures left are retrieval misses (with k = 2 a "
      "confuser outranks the article that matters), so retrieve more passages on both searches.";
  proposal.hypothesis =
      "The remaining failures are retrieval misses: with k=2 a confuser article often outranks "
      "the one naming the bridge or the answer. Retrieving 5 passages in both searches brings "
      "the evidence into the answer step's prompt.";
  proposal.parameters = {{"hop1", {{"k", 5}}}, {"hop2", {{"k", 5}}}};
  return propose(demo, proposal);
}

Status step_review(Demo& demo) {
  Attempt& attempt = demo.state.attempts.back();
  demo.narrator.agent("Have " + attempt.name + " reviewed: a variant that fails review cannot be "
                      "evaluated on validation or accepted.");
  json args = {{"tenant_id", demo.state.tenant}, {"variant", attempt.name}};
  FAPO_ASSIGN_OR_RETURN(json review, demo.session->call("review_variant", args, {"variant"}));
  attempt.verdict = text_at(review, "verdict", "?");
  const json findings = review.value("findings", json::array());
  demo.narrator.reply("verdict " + attempt.verdict + ", " + std::to_string(findings.size()) +
                          " finding" + (findings.size() == 1 ? "" : "s"),
                      attempt.verdict == "fail" ? Style::kBad : Style::kGood);
  std::vector<std::string> blocking;
  for (const json& finding : findings) {
    std::string line = text_at(finding, "severity") + " " + text_at(finding, "id") + ": " +
                       excerpt(text_at(finding, "message"), 160);
    demo.narrator.detail(line, Style::kBad);
    if (text_at(finding, "severity") == "block") blocking.push_back(line);
  }
  if (attempt.verdict != "pass" && attempt.verdict != "warn") {
    return make_error(ErrorCode::kInvalidInput, "review of " + attempt.name + " gave verdict " +
                                                    attempt.verdict + ": " + join(blocking, "; "));
  }
  return ok_status();
}

Status step_compare(Demo& demo) {
  Attempt& attempt = demo.state.attempts.back();
  std::string incumbent = demo.state.best;
  demo.narrator.agent("Compare " + attempt.name + " with the best so far (" + incumbent +
                      ") on validation. The server runs the missing evaluations itself and "
                      "decides; validation shows only aggregates.");
  json args = {{"tenant_id", demo.state.tenant}, {"candidate", attempt.name},
               {"split", "validation"}, {"wait_seconds", 50}};
  FAPO_ASSIGN_OR_RETURN(json compared,
                        demo.session->call("compare", args, {"candidate", "split", "wait_seconds"}));
  for (int poll = 0; poll < kMaxComparePolls && text_at(compared, "status") == "evaluating";
       ++poll) {
    demo.narrator.reply("still evaluating; asking again");
    FAPO_ASSIGN_OR_RETURN(compared, demo.session->call("compare", args, {"candidate"}));
  }
  if (text_at(compared, "status") != "decided") {
    return make_error(ErrorCode::kIo, "compare of " + attempt.name + " did not decide (status " +
                                          text_at(compared, "status", "?") + ")");
  }
  print_comparison(demo.narrator, compared, attempt.name, incumbent);
  attempt.decision = text_at(compared, "decision", "?");
  attempt.mean_difference = number_at(compared, "mean_difference");
  bool accepted = attempt.decision == "accept";
  // The server's reason already opens with its verdict; the banner says it once.
  std::string reason = text_at(compared, "reason");
  for (const char* verdict : {"accepted: ", "rejected: "}) {
    if (reason.rfind(verdict, 0) == 0) reason.erase(0, std::string(verdict).size());
  }
  demo.narrator.detail((accepted ? "ACCEPTED: " : "REJECTED: ") + excerpt(reason, 200),
                       accepted ? Style::kGood : Style::kBad);
  if (accepted) {
    demo.state.best = attempt.name;
    demo.state.best_prompts = demo.state.candidate_prompts;
    demo.state.best_settings = demo.state.candidate_settings;
    demo.narrator.detail("the best pointer moves to " + attempt.name);
  } else {
    demo.narrator.detail("the best stays " + incumbent + "; " + attempt.name +
                         " stays in the history");
  }
  return ok_status();
}

Status step_note_prompt_exhausted(Demo& demo) {
  std::vector<std::string> outcomes;
  for (const Attempt& attempt : demo.state.attempts) {
    outcomes.push_back(attempt.name + " " + (attempt.decision == "accept" ? "accepted" : "rejected"));
  }
  bool last_gained = !demo.state.attempts.empty() && demo.state.attempts.back().decision == "accept";
  std::string note = "Prompt level exhausted (" + join(outcomes, ", ") +
                     "): the answer's form and the summary's names are addressed; " +
                     (last_gained ? "the last rewording still helped, but "
                                  : "rewording the answer step gained nothing, and ") +
                     "what fails now is retrieval, which no instruction fixes. Next: retrieval "
                     "parameters.";
  demo.narrator.agent("Write down why the prompt level is done, so a later session (or a "
                      "reviewer) sees the reasoning in the journal.");
  json args = {{"tenant_id", demo.state.tenant}, {"note", note}, {"exhausted_level", "prompt"}};
  FAPO_ASSIGN_OR_RETURN(json recorded,
                        demo.session->call("record_note", args, {"exhausted_level", "note"}));
  demo.narrator.reply("journal entry #" + recorded.value("seq", json("?")).dump());
  return ok_status();
}

}  // namespace fapo::demo
