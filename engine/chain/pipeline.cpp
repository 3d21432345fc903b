#include "engine/chain/pipeline.h"

#include <set>

#include "engine/base/files.h"
#include "engine/base/strings.h"

namespace fapo {
namespace {

// Prompt file names are plain names inside prompts/: no directories, no traversal.
bool is_plain_prompt_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name != "." && name != ".." &&
         name.front() != '.';
}

std::vector<std::string> template_slots(const StepDef& step) {
  switch (step.kind) {
    case StepKind::kRetrieve:
      return {"query"};
    case StepKind::kTransform: {
      if (step.op != "join") return {"input"};
      std::vector<std::string> slots;
      for (std::size_t i = 0; i < step.inputs.size(); ++i) {
        slots.push_back("inputs[" + std::to_string(i) + "]");
      }
      return slots;
    }
    default:
      return {};
  }
}

const std::string& slot_text(const StepDef& step, const std::string& slot) {
  if (slot == "query") return step.query;
  if (slot == "input") return step.input;
  std::size_t index = std::stoul(slot.substr(7));  // "inputs[N]"
  return step.inputs[index];
}

}  // namespace

std::string PipelineConfig::content_hash() const {
  std::string material = chain.raw.dump();
  for (const auto& [name, text] : prompts) {
    material += "\n--prompt " + name + " " + std::to_string(text.size()) + "\n" + text;
  }
  return sha256_hex(material);
}

Result<PipelineConfig> load_pipeline(const std::filesystem::path& dir,
                                     const std::string& display_dir) {
  std::string chain_file = display_dir + "/chain.json";
  auto text = read_file(dir / "chain.json");
  if (!text.ok()) return make_error(text.error().code, chain_file + ": cannot read file");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::parse_error& error) {
    return make_error(ErrorCode::kInvalidInput, chain_file + ": invalid JSON: " + error.what());
  }
  FAPO_ASSIGN_OR_RETURN(ChainDef chain, parse_chain(json, chain_file));
  PipelineConfig config{std::move(chain), {}};
  Diagnostics diagnostics;
  for (const StepDef* step : all_steps(config.chain)) {
    if (!has_prompt(*step) || config.prompts.count(step->prompt)) continue;
    if (!is_plain_prompt_name(step->prompt)) {
      diagnostics.push_back({chain_file, 0, "step '" + step->id + "'.prompt",
                             "'" + step->prompt + "' must be a file name inside prompts/"});
      continue;
    }
    auto prompt_text = read_file(dir / "prompts" / step->prompt);
    if (!prompt_text.ok()) {
      diagnostics.push_back({chain_file, 0, "step '" + step->id + "'.prompt",
                             "prompt file prompts/" + step->prompt + " does not exist"});
      continue;
    }
    config.prompts[step->prompt] = std::move(*prompt_text);
  }
  if (!diagnostics.empty()) return diagnostics_error(diagnostics);
  return config;
}

Result<CompiledChain> CompiledChain::compile(PipelineConfig config,
                                             const std::string& display_dir) {
  CompiledChain compiled;
  compiled.display_dir_ = display_dir;
  compiled.config_ = std::make_shared<const PipelineConfig>(std::move(config));
  std::vector<std::string> problems;
  for (const StepDef* step : all_steps(compiled.def())) {
    if (has_prompt(*step)) {
      auto found = compiled.config_->prompts.find(step->prompt);
      if (found == compiled.config_->prompts.end()) {
        problems.push_back(display_dir + "/chain.json: step '" + step->id +
                           "': prompt file prompts/" + step->prompt + " is missing");
        continue;
      }
      auto prompt =
          PromptTemplate::parse(found->second, display_dir + "/prompts/" + step->prompt);
      if (!prompt.ok()) {
        problems.push_back(prompt.error().message);
        continue;
      }
      compiled.prompts_.emplace(step->id, std::move(*prompt));
    }
    for (const std::string& slot : template_slots(*step)) {
      std::string source = display_dir + "/chain.json: step '" + step->id + "'." + slot;
      auto parsed = Template::parse(slot_text(*step, slot), source);
      if (!parsed.ok()) {
        problems.push_back(parsed.error().message);
        continue;
      }
      compiled.templates_.emplace(step->id + "#" + slot, std::move(*parsed));
    }
  }
  if (!problems.empty()) return make_error(ErrorCode::kInvalidInput, join(problems, "\n"));
  return compiled;
}

namespace {

// Walks a step sequence in execution order, tracking which step outputs exist at each point.
// Inside a loop body every body step may read every other (later ones yield the previous
// iteration's output, empty on the first), so the whole body is available.
void check_sequence(const CompiledChain& chain, const std::vector<StepDef>& steps,
                    const std::vector<std::string>& context_keys,
                    std::vector<std::string> available, const std::vector<std::string>& all_ids,
                    Diagnostics& out) {
  for (const StepDef& step : steps) {
    if (step.kind == StepKind::kLoop) {
      std::vector<std::string> inside = available;
      for (const StepDef* body : all_steps(step.steps)) {
        inside.push_back(body->id);
      }
      check_sequence(chain, step.steps, context_keys, inside, all_ids, out);
    } else if (step.kind == StepKind::kVote && !step.inner.empty()) {
      Diagnostics found = check_variables(chain.prompt(step.inner[0]), context_keys, available,
                                          all_ids, step.id);
      out.insert(out.end(), found.begin(), found.end());
    } else if (has_prompt(step)) {
      Diagnostics found =
          check_variables(chain.prompt(step), context_keys, available, all_ids, step.id);
      out.insert(out.end(), found.begin(), found.end());
    } else {
      for (const std::string& slot : template_slots(step)) {
        Diagnostics found = check_variables(chain.text(step, slot), context_keys, available,
                                            all_ids, step.id);
        out.insert(out.end(), found.begin(), found.end());
      }
    }
    available.push_back(step.id);
  }
}

}  // namespace

Diagnostics CompiledChain::check_variables(const std::vector<std::string>& context_keys) const {
  std::vector<std::string> all_ids;
  for (const StepDef* step : all_steps(def())) all_ids.push_back(step->id);
  Diagnostics out;
  check_sequence(*this, def().steps, context_keys, {}, all_ids, out);
  return out;
}

}  // namespace fapo
