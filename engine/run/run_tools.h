// The tools a run gives its react steps. Started only when the chain has a react step, so
// pipelines without agents never start a tool server; the returned set stops its servers when
// the last owner lets go of it (the end of the run or the replay).
#pragma once

#include <filesystem>
#include <memory>

#include "engine/chain/pipeline.h"
#include "engine/run/tenant.h"
#include "engine/tools/tool_set.h"

namespace fapo {

// Null when `chain` has no react step. `log_path` receives the servers' stderr (may be empty).
std::shared_ptr<ToolSet> start_run_tools(const Tenant& tenant, const CompiledChain& chain,
                                         int workers, const std::filesystem::path& log_path);

bool has_react_step(const ChainDef& chain);

}  // namespace fapo
