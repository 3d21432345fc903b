// A pipeline configuration is everything a variant fixes: the chain and the prompt texts it
// uses. CompiledChain parses every template once so executing a case never re-parses text.
// Both are immutable after construction and safe to share between threads.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/diagnostic.h"
#include "engine/base/result.h"
#include "engine/chain/chain_def.h"
#include "engine/prompt/prompt_file.h"
#include "engine/prompt/template.h"

namespace fapo {

struct PipelineConfig {
  ChainDef chain;
  std::map<std::string, std::string> prompts;  // file name under prompts/ -> text

  // Content address: SHA-256 over the canonical chain JSON and every prompt (name and text).
  std::string content_hash() const;
};

// Reads `dir`/chain.json and the prompt files its llm steps name from `dir`/prompts/.
// `display_dir` prefixes file names in messages (e.g. "tenants/qa").
Result<PipelineConfig> load_pipeline(const std::filesystem::path& dir,
                                     const std::string& display_dir);

class CompiledChain {
 public:
  // Parses every prompt and template string of the chain; reports all problems at once.
  static Result<CompiledChain> compile(PipelineConfig config, const std::string& display_dir);

  const ChainDef& def() const { return config_->chain; }
  const PipelineConfig& config() const { return *config_; }

  const PromptTemplate& prompt(const StepDef& step) const { return prompts_.at(step.id); }
  // Template strings of non-llm steps: "query", "input", "inputs[i]".
  const Template& text(const StepDef& step, const std::string& slot) const {
    return templates_.at(step.id + "#" + slot);
  }

  // Every template variable must resolve for every step in order: context variables against
  // `context_keys` (present in every case), step outputs against steps that ran before.
  Diagnostics check_variables(const std::vector<std::string>& context_keys) const;

 private:
  std::shared_ptr<const PipelineConfig> config_;
  std::string display_dir_;
  std::map<std::string, PromptTemplate> prompts_;  // by llm step id
  std::map<std::string, Template> templates_;      // by "<step id>#<slot>"
};

}  // namespace fapo
