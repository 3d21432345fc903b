#include "engine/llm/sim_model.h"

#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "engine/base/strings.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;

std::unique_ptr<ModelClient> sim(const json& config) {
  auto model = make_sim_model(config, "sim-1");
  REQUIRE_MESSAGE(model.ok(), (model.ok() ? "" : model.error().message));
  return std::move(model).value();
}

Case make_case(const std::string& id, json expected = json::object(),
               json metadata = json::object(), const std::string& task_type = "bridge") {
  Case result;
  result.case_id = id;
  result.task_type = task_type;
  result.context = {{"question", "Where was the founder of Velmora Industries born?"}};
  result.expected = std::move(expected);
  result.metadata = std::move(metadata);
  return result;
}

ModelRequest request(const std::string& user, int sample_index = 0, double temperature = 1.0) {
  ModelRequest result;
  result.model = "sim-1";
  result.messages = {{"system", "You answer questions."}, {"user", user}};
  result.sampling.temperature = temperature;
  result.sample_index = sample_index;
  return result;
}

ModelReply call(ModelClient& model, const Case& case_data, const ModelRequest& req) {
  CallContext context;
  context.case_data = &case_data;
  auto reply = model.complete(req, context);
  REQUIRE_MESSAGE(reply.ok(), (reply.ok() ? "" : reply.error().message));
  return std::move(reply).value();
}

std::string fired_rule(ModelClient& model, const Case& case_data, const ModelRequest& req) {
  return call(model, case_data, req).sim_trace["rule"].get<std::string>();
}

Error config_error(const json& config) {
  auto model = make_sim_model(config, "sim-1");
  REQUIRE_FALSE(model.ok());
  return model.error();
}

const json kCoinRule = json::parse(R"({"seed": 3, "rules": [
  {"name": "coin", "probability": 0.5, "reply": "heads"}], "default_reply": "tails"})");

}  // namespace

TEST_CASE("identifies itself as the simulated provider and marks every reply as simulated") {
  auto model = sim(json::parse(R"({"rules": [{"name": "always", "reply": "hello"}]})"));
  CHECK(model->provider() == "sim");
  ModelReply reply = call(*model, make_case("c1"), request("hi"));
  CHECK(reply.text == "hello");
  CHECK(reply.sim_trace == json{{"rule", "always"}, {"noise", false}, {"simulated", true}});
}

TEST_CASE("gives the same reply for the same seed, case, prompt and sample index") {
  auto first = sim(kCoinRule);
  auto second = sim(kCoinRule);
  for (int i = 0; i < 50; ++i) {
    Case case_data = make_case("case" + std::to_string(i));
    ModelRequest req = request("question " + std::to_string(i), i % 3);
    CHECK(call(*first, case_data, req).text == call(*second, case_data, req).text);
    CHECK(call(*first, case_data, req).text == call(*first, case_data, req).text);
  }
}

TEST_CASE("draws again for each sample index, so trials and vote samples differ") {
  auto model = sim(kCoinRule);
  Case case_data = make_case("c1");
  std::set<std::string> replies;
  for (int index = 0; index < 32; ++index) {
    replies.insert(call(*model, case_data, request("same prompt", index)).text);
  }
  CHECK(replies == std::set<std::string>{"heads", "tails"});
}

TEST_CASE("a per_case rule repeats its draw across sample indices but not across cases") {
  json config = kCoinRule;
  config["rules"][0]["draw"] = "per_case";
  auto model = sim(config);
  std::set<std::string> across_cases;
  for (int i = 0; i < 32; ++i) {
    Case case_data = make_case("case" + std::to_string(i));
    std::string first = call(*model, case_data, request("same prompt", 0)).text;
    for (int index = 1; index < 5; ++index) {
      CHECK(call(*model, case_data, request("same prompt", index)).text == first);
    }
    across_cases.insert(first);
  }
  CHECK(across_cases.size() == 2);
}

TEST_CASE("changing the seed or the prompt changes the draws") {
  json other_seed = kCoinRule;
  other_seed["seed"] = 4;
  auto a = sim(kCoinRule);
  auto b = sim(other_seed);
  int seed_differs = 0;
  int prompt_differs = 0;
  for (int i = 0; i < 64; ++i) {
    Case case_data = make_case("case" + std::to_string(i));
    std::string base = call(*a, case_data, request("prompt")).text;
    seed_differs += call(*b, case_data, request("prompt")).text != base;
    prompt_differs += call(*a, case_data, request("prompt, reworded")).text != base;
  }
  CHECK(seed_differs > 10);
  CHECK(prompt_differs > 10);
}

TEST_CASE("fires a rule at about its stated probability over many cases") {
  auto model = sim(json::parse(R"({"rules": [
    {"name": "rare", "probability": 0.3, "reply": "rare"},
    {"name": "common", "reply": "common"}]})"));
  int fired = 0;
  const int kCases = 4000;
  for (int i = 0; i < kCases; ++i) {
    fired += fired_rule(*model, make_case("q" + std::to_string(i)), request("p")) == "rare";
  }
  CHECK(fired > kCases * 0.27);
  CHECK(fired < kCases * 0.33);
}

TEST_CASE("tries rules in order, first firing rule wins, the default reply applies otherwise") {
  auto model = sim(json::parse(R"({"rules": [
    {"name": "summary", "when": {"prompt_contains": ["summarize"]}, "reply": "S"},
    {"name": "answer", "when": {"prompt_contains": ["answer briefly"]}, "reply": "A"},
    {"name": "never", "probability": 0, "reply": "N"}],
    "default_reply": "D"})"));
  Case case_data = make_case("c1");
  CHECK(call(*model, case_data, request("Summarize, then answer")).text == "S");
  CHECK(call(*model, case_data, request("Please ANSWER briefly")).text == "A");
  ModelReply fallback = call(*model, case_data, request("Something else"));
  CHECK(fallback.text == "D");
  CHECK(fallback.sim_trace["rule"] == "(default)");
}

TEST_CASE("prompt conditions match case-insensitively across all messages") {
  auto model = sim(json::parse(R"({"rules": [
    {"name": "all", "when": {"prompt_contains": ["you answer", "velmora"]}, "reply": "all"},
    {"name": "any", "when": {"prompt_contains_any": ["zeta", "OMEGA"]}, "reply": "any"},
    {"name": "lacks_all", "when": {"prompt_lacks_all": ["brief", "short answer"]},
     "reply": "lacks_all"},
    {"name": "lacks_any", "when": {"prompt_lacks_any": ["brief", "always answer"]},
     "reply": "lacks_any"}], "default_reply": "none"})"));
  Case c = make_case("c1");
  CHECK(call(*model, c, request("About VELMORA")).text == "all");  // "You answer" is the system
  CHECK(call(*model, c, request("omega point")).text == "any");
  CHECK(call(*model, c, request("plain")).text == "lacks_all");
  CHECK(call(*model, c, request("be brief")).text == "lacks_any");
  CHECK(call(*model, c, request("be brief and always answer")).text == "none");
}

TEST_CASE("detects the evidence for an expected value after normalisation, as whole words") {
  auto model = sim(json::parse(R"({"rules": [
    {"name": "present", "when": {"evidence_present": "answer"}, "reply": "found"},
    {"name": "absent", "when": {"evidence_absent": "answer"}, "reply": "${distractor}"}]})"));
  Case c = make_case("c1", {{"answer", "The Lorvik-Bridge"}, {"distractors", {"Corvath"}}});
  CHECK(fired_rule(*model, c, request("[1] «lorvik bridge, a crossing»")) == "present");
  CHECK(fired_rule(*model, c, request("It crosses the LORVIK  BRIDGE.")) == "present");
  CHECK(fired_rule(*model, c, request("It crosses the Lorviksund bridge.")) == "absent");
  CHECK(call(*model, c, request("nothing here")).text == "Corvath");

  Case aliases = make_case("c2", {{"answer", json::array({"two rivers", "Twin Rivers"})}});
  CHECK(fired_rule(*model, aliases, request("near 2 rivers")) == "present");
  CHECK(fired_rule(*model, aliases, request("twin rivers!")) == "present");
}

TEST_CASE("an evidence condition on a field the case lacks is a clear permanent error") {
  auto model = sim(json::parse(
      R"({"rules": [{"name": "bridge", "when": {"evidence_present": "bridge"}, "reply": "x"}]})"));
  Case c = make_case("q7", {{"answer", "Lorvik"}});
  CallContext context;
  context.case_data = &c;
  auto reply = model->complete(request("text"), context);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelPermanent);
  CHECK(reply.error().message.find("rule 'bridge'") != std::string::npos);
  CHECK(reply.error().message.find("expected.bridge") != std::string::npos);
  CHECK(reply.error().message.find("'q7'") != std::string::npos);
}

TEST_CASE("matches metadata values and task types") {
  auto model = sim(json::parse(R"({"rules": [
    {"name": "hard", "when": {"metadata": {"difficulty": "hard", "hops": 2}}, "reply": "h"},
    {"name": "typed", "when": {"task_type": ["compare", "bridge_city"]}, "reply": "t"}],
    "default_reply": "d"})"));
  CHECK(call(*model, make_case("a", {}, {{"difficulty", "hard"}, {"hops", 2}}), request("x"))
            .text == "h");
  CHECK(call(*model, make_case("b", {}, {{"difficulty", "hard"}, {"hops", 3}}), request("x"))
            .text == "d");
  CHECK(call(*model, make_case("c", {}, {}, "bridge_city"), request("x")).text == "t");
  CHECK(call(*model, make_case("d", {}, {}, "bridge"), request("x")).text == "d");
}

TEST_CASE("prompt_matches applies an ECMAScript regex when a rule asks for one") {
  auto model = sim(json::parse(
      R"({"rules": [{"name": "numbered", "when": {"prompt_matches": "\\[\\d+\\] «"},
          "reply": "passages"}], "default_reply": "none"})"));
  Case c = make_case("c1");
  CHECK(call(*model, c, request("[12] «Title | text»")).text == "passages");
  CHECK(call(*model, c, request("no passages")).text == "none");
}

TEST_CASE("renders expected, context, metadata, distractor and prompt-line placeholders") {
  const std::string reply =
      "${expected.answer}|${expected.detail.year}|${context.question}|${metadata.difficulty}|"
      "${distractor}|${prompt_line:^Notes:\\s*(.*)}|${prompt_line:\\d{4}}|$${literal}";
  auto model = sim(json{{"rules", {{{"name", "all"}, {"reply", reply}}}}});
  Case c = make_case("c1", {{"answer", "Lorvik"}, {"detail", {{"year", 1921}}},
                            {"distractors", {"Corvath"}}},
                     {{"difficulty", "easy"}});
  std::string text = call(*model, c, request("Intro\nnotes:  the summary \nFounded 1921.")).text;
  CHECK(text ==
        "Lorvik|1921|Where was the founder of Velmora Industries born?|easy|Corvath|the "
        "summary|Founded 1921.|${literal}");
}

TEST_CASE("a rule's own distractors take precedence and the pick varies deterministically") {
  auto model = sim(json::parse(R"({"rules": [{"name": "guess",
    "distractors": ["alpha", "beta", "gamma"], "reply": "${distractor}"}]})"));
  Case c = make_case("c1", {{"distractors", {"never"}}});
  std::set<std::string> picks;
  for (int index = 0; index < 40; ++index) picks.insert(call(*model, c, request("q", index)).text);
  CHECK(picks == std::set<std::string>{"alpha", "beta", "gamma"});
}

TEST_CASE("a reply referencing a missing value is a permanent error, never empty text") {
  auto model = sim(json::parse(R"({"rules": [{"name": "answer_correct",
    "reply": "The answer is ${expected.answer}."}]})"));
  Case c = make_case("q42", {{"bridge", "Aldric"}});
  CallContext context;
  context.case_data = &c;
  auto reply = model->complete(request("q"), context);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelPermanent);
  CHECK(reply.error().message.find("rule 'answer_correct'") != std::string::npos);
  CHECK(reply.error().message.find("${expected.answer} is missing from case 'q42'") !=
        std::string::npos);

  auto distractor = sim(json::parse(R"({"rules": [{"name": "g", "reply": "${distractor}"}]})"));
  auto missing = distractor->complete(request("q"), context);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("expected.distractors") != std::string::npos);

  auto line = sim(json::parse(R"({"rules": [{"name": "l", "reply": "${prompt_line:^Zed}"}]})"));
  auto no_line = line->complete(request("q"), context);
  REQUIRE_FALSE(no_line.ok());
  CHECK(no_line.error().message.find("matches no line") != std::string::npos);

  CallContext no_case;
  auto without_case = model->complete(request("q"), no_case);
  REQUIRE_FALSE(without_case.ok());
  CHECK(without_case.error().message.find("carried none") != std::string::npos);
}

TEST_CASE("adds no noise at temperature 0 and about per_temperature x temperature above") {
  auto model = sim(json::parse(R"({"noise": {"per_temperature": 0.1, "max": 0.15},
    "rules": [{"name": "r", "reply": "${expected.answer}"}]})"));
  const int kCases = 3000;
  int noisy_cold = 0, noisy_warm = 0, noisy_hot = 0;
  for (int i = 0; i < kCases; ++i) {
    Case c = make_case("q" + std::to_string(i),
                       {{"answer", "Lorvik"}, {"distractors", {"Corvath"}}});
    noisy_cold += call(*model, c, request("q", 0, 0.0)).sim_trace["noise"].get<bool>();
    ModelReply warm = call(*model, c, request("q", 0, 1.0));
    if (warm.sim_trace["noise"].get<bool>()) {
      ++noisy_warm;
      CHECK(warm.text != "Lorvik");
      CHECK(warm.sim_trace["rule"] == "r");
    }
    noisy_hot += call(*model, c, request("q", 0, 2.0)).sim_trace["noise"].get<bool>();
  }
  CHECK(noisy_cold == 0);
  CHECK(noisy_warm > kCases * 0.08);
  CHECK(noisy_warm < kCases * 0.12);
  CHECK(noisy_hot > kCases * 0.13);  // 0.2 requested, capped at 0.15
  CHECK(noisy_hot < kCases * 0.17);
}

TEST_CASE("noise replaces the reply by a distractor or pads it, and can be turned off per rule") {
  auto model = sim(json::parse(R"({"noise": {"per_temperature": 1.0, "max": 1.0},
    "rules": [{"name": "quiet", "when": {"prompt_contains": ["quiet"]}, "noise": false,
               "reply": "${expected.answer}"},
              {"name": "loud", "reply": "${expected.answer}"}]})"));
  std::set<std::string> kinds;
  for (int i = 0; i < 40; ++i) {
    Case c = make_case("q" + std::to_string(i),
                       {{"answer", "Lorvik"}, {"distractors", {"Corvath"}}});
    CHECK(call(*model, c, request("quiet please")).text == "Lorvik");
    std::string text = call(*model, c, request("loud")).text;
    kinds.insert(text == "Corvath" ? "distractor"
                 : text.find("Lorvik") != std::string::npos && text.size() > 6 ? "verbose"
                                                                              : text);
  }
  CHECK(kinds == std::set<std::string>{"distractor", "verbose"});
}

TEST_CASE("estimates tokens as a quarter of the characters and truncates at max_tokens") {
  auto model = sim(json::parse(
      R"({"rules": [{"name": "long", "reply": "abcdefghijklmnopqrstuvwxyz"}]})"));
  Case c = make_case("c1");
  ModelRequest req = request("12345");  // 26 characters with the system message
  ModelReply full = call(*model, c, req);
  CHECK(full.tokens_in == 7);
  CHECK(full.tokens_out == 7);
  CHECK(full.finish_reason == "stop");
  req.sampling.max_tokens = 3;
  ModelReply cut = call(*model, c, req);
  CHECK(cut.text == "abcdefghijkl");
  CHECK(cut.tokens_out == 3);
  CHECK(cut.finish_reason == "length");
}

TEST_CASE("reports every problem of a bad sim section with its path") {
  Error error = config_error(json::parse(R"({"seed": -1, "rules": [
    {"name": "ok", "reply": "x"},
    {"name": "ok", "reply": "${expected.}"},
    {"name": "c", "when": {"prompt_contains": "short answer"}, "reply": "x"},
    {"name": "d", "when": {"prompt_contain": ["x"], "evidence_present": 3}, "reply": "x",
     "probability": 1.5, "draw": "sometimes"},
    {"reply": "x"},
    {"name": "f", "when": {"prompt_matches": "(unclosed"}, "reply": "${prompt_line:[}"},
    {"name": "g"}],
    "noise": {"per_temperature": -1, "modes": ["loud"]}, "extra": 1})"));
  CHECK(error.code == ErrorCode::kInvalidInput);
  const std::string& m = error.message;
  for (const char* fragment : {
           "sim.seed: must be a non-negative integer",
           "sim.rules[1].name: duplicate rule name 'ok'",
           "sim.rules[1].reply: unknown placeholder ${expected.}",
           "sim.rules[2].when.prompt_contains: must be an array of strings",
           "sim.rules[3].when: unknown key 'prompt_contain' (did you mean 'prompt_contains'?)",
           "sim.rules[3].when.evidence_present: must be a string or an array of strings",
           "sim.rules[3].probability: must be a number from 0 to 1",
           "sim.rules[3].draw: must be \"per_sample\" or \"per_case\"",
           "sim.rules[4].name: required",
           "sim.rules[5].when.prompt_matches: invalid regex",
           "sim.rules[5].reply: ${prompt_line:[}: invalid regex",
           "sim.rules[6].reply: required",
           "sim.noise.per_temperature: must be a number >= 0",
           "sim.noise.modes: unknown mode 'loud'",
           "sim: unknown key 'extra'"}) {
    CHECK_MESSAGE(m.find(fragment) != std::string::npos, fragment << "\nin:\n" << m);
  }
}

TEST_CASE("rejects an unterminated placeholder and a sim section that is not an object") {
  Error unterminated = config_error(
      json::parse(R"({"rules": [{"name": "a", "reply": "value ${expected.answer"}]})"));
  CHECK(unterminated.message.find("sim.rules[0].reply: unterminated placeholder") !=
        std::string::npos);
  CHECK(config_error(json::array()).message == "sim: must be an object");
}

TEST_CASE("an absent sim section gives a model that answers with the default reply") {
  auto model = sim(json());
  ModelReply reply = call(*model, make_case("c1"), request("anything"));
  CHECK(reply.text.find("simulated model") != std::string::npos);
  CHECK(reply.sim_trace["rule"] == "(default)");
}

TEST_CASE("answers identically from several threads at once") {
  auto model = sim(kCoinRule);
  std::vector<std::string> expected;
  std::vector<Case> cases;
  for (int i = 0; i < 200; ++i) cases.push_back(make_case("c" + std::to_string(i)));
  for (const Case& c : cases) expected.push_back(call(*model, c, request("p")).text);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      CallContext context;
      for (std::size_t i = 0; i < cases.size(); ++i) {
        context.case_data = &cases[i];
        auto reply = model->complete(request("p"), context);
        if (!reply.ok() || reply->text != expected[i]) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("the multihop_qa rules key failures on prompt content, never leaking the answer") {
  std::string text =
      testing::read_text(testing::source_dir() / "tenants" / "multihop_qa" / "tenant.json");
  json tenant = json::parse(text);
  auto loaded = make_sim_model(tenant.at("sim"), tenant.at("task_model").at("model"));
  REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().message));
  ModelClient& model = **loaded;
  const std::string evidence =
      "[1] «Oriel Lavis | Oriel Lavis was an engineer born in Hidrecell.»";
  const std::string plain = "Question: Where was the founder of Wase Laboratories born?\n";
  const std::string fixed = "\nAnswer the question with a short answer. Always answer.";
  int verbose = 0, hedged = 0, slips = 0;
  for (int i = 0; i < 200; ++i) {
    Case c = make_case("mh" + std::to_string(i),
                       {{"answer", "Hidrecell"}, {"bridge", "Oriel Lavis"},
                        {"distractors", {"Lepon", "Shegrill"}}},
                       {{"difficulty", i % 2 ? "hard" : "easy"}});
    // Temperature 0: no noise, so only the rules speak.
    std::string good = call(model, c, request(plain + evidence + fixed, 0, 0.0)).text;
    if (i % 2 == 0) CHECK(good == "Hidrecell");  // easy: the fixed prompt always works
    slips += good != "Hidrecell";                // hard: a few reasoning slips remain
    ModelReply missing = call(model, c, request(plain + fixed, 0, 0.0));
    CHECK(missing.text.find("Hidrecell") == std::string::npos);
    std::string baseline = call(model, c, request(plain + evidence + "\nAnswer the question.", 0,
                                                  0.0)).text;
    verbose += baseline.size() > 9 && baseline.find("Hidrecell") != std::string::npos;
    hedged += baseline.find("cannot determine") != std::string::npos;
    std::string query = "Question: ...\nNotes: about Oriel Lavis\nWrite one search query.";
    CHECK(call(model, c, request(query, 0, 0.0)).text.find("Oriel Lavis") != std::string::npos);
    std::string blind = "Question: ...\nNotes: nothing useful\nWrite one search query.";
    CHECK(call(model, c, request(blind, 0, 0.0)).text.find("Oriel Lavis") == std::string::npos);
  }
  CHECK(verbose > 20);  // wordy answers unless told to answer briefly
  CHECK(hedged > 20);   // hedging on hard cases unless told to always answer
  CHECK(slips < 25);
}

}  // namespace fapo
