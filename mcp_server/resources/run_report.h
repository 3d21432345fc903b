// A run report: one run as a short Markdown document (state, mean, trials, breakdown, costs, and
// what the split access policy allows of its cases: the failed cases of a train run, aggregates
// by task type of a validation run). Test runs have no report (case_access.h). Served as the
// resource fapo://tenants/<tenant>/runs/<run>/report. Free functions; thread-safe.
#pragma once

#include <string>

#include "engine/base/result.h"
#include "engine/run/run_manager.h"
#include "engine/run/workspace.h"

namespace fapo::mcp {

// kInvalidInput for a test run (with the reason) or a malformed id, kNotFound for an unknown
// run. The text stays under about 12,000 characters: long listings are cut with a note.
Result<std::string> run_report_markdown(const Workspace& workspace, RunManager& runs,
                                        const std::string& tenant_id, const std::string& run_id);

}  // namespace fapo::mcp
