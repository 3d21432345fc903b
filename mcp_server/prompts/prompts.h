// The prompts fapo offers (clients such as Claude Code show them as slash commands):
//
//   optimize    the optimisation protocol, written for an agent: evaluate on train, attribute
//               failures to steps, propose one scoped change, review, compare on validation,
//               escalate prompt -> parameter -> structural only when a level is exhausted, run
//               the final test once. It names the tools that exist in this build and says which
//               rules the server does not enforce yet.
//   new_tenant  how to scaffold a tenant from a task description and a dataset.
//
// install_prompt_methods() puts prompts/list and prompts/get on a dispatcher; this file is where
// their result objects are spelled in the protocol's words. Texts are fixed strings plus the
// caller's arguments and, for optimize, facts read from the tenant's configuration.
// Functions are thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "mcp_server/server/dispatcher.h"
#include "mcp_server/tools/tool.h"

namespace fapo::mcp {

struct PromptArgument {
  std::string name;
  std::string description;
  bool required = false;
};

struct PromptSpec {
  std::string name;
  std::string title;
  std::string description;
  std::vector<PromptArgument> arguments;
};

const std::vector<PromptSpec>& builtin_prompts();

struct RenderedPrompt {
  std::string description;
  std::string text;  // one user message
};

// kNotFound for an unknown prompt (naming the prompts that exist), kInvalidInput for a missing
// required argument, an unknown argument or an unknown tenant.
Result<RenderedPrompt> render_prompt(const ServerContext& context, const std::string& name,
                                     const std::map<std::string, std::string>& arguments);

// Registers prompts/list and prompts/get on `dispatcher` (before its first message).
// `context` must outlive the dispatcher.
void install_prompt_methods(Dispatcher& dispatcher, const ServerContext& context);

}  // namespace fapo::mcp
