// `fapo demo`: a scripted agent optimises the example tenant multihop_qa through fapo's own MCP
// server, offline, on the simulated model. It starts `fapo mcp` as a child process over stdio,
// exactly as Claude Code or Codex would, and walks the optimisation protocol: evaluate the
// baseline, read the failures, propose, review and compare prompt variants, record that the
// prompt level is exhausted, escalate to a parameter variant, look at the history, run the final
// test (twice: the second call returns the sealed result), and sum up. Each step prints what the
// agent does, the tool it calls with the key arguments, and the key numbers of the reply.
//
// The agent's edits are fixed (they are the fixes tenants/multihop_qa/README.md documents);
// everything it prints about scores and decisions comes from the server. A decision other than
// the expected one is narrated, not treated as a failure; a tool that is missing or refuses
// its call stops the demo at that step.
//
// run_demo is not thread-safe with itself (it owns a child process and writes to `out`).
#pragma once

#include <filesystem>
#include <ostream>

#include "engine/base/result.h"

namespace fapo::demo {

struct DemoOptions {
  // The fapo executable, started as `<server_program> --workspace <workspace> mcp`.
  std::filesystem::path server_program;
  // A workspace holding tenants/multihop_qa and no state for it yet (see demo_workspace.h).
  std::filesystem::path workspace;
  // Where the server's stderr goes (appended); empty discards it.
  std::filesystem::path server_log;
  // ANSI colour and an in-place progress line: only for a terminal.
  bool color = false;
};

// Runs the walkthrough, printing to `out`. On failure the error's message starts with the step
// that failed: "step 9 of 24 (compare on validation): compare answered with an error: ...".
Status run_demo(const DemoOptions& options, std::ostream& out);

}  // namespace fapo::demo
