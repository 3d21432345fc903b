#include "engine/run/run_tools.h"

#include "engine/tools/tool_servers.h"

namespace fapo {

bool has_react_step(const ChainDef& chain) {
  for (const StepDef* step : all_steps(chain)) {
    if (step->kind == StepKind::kReact) return true;
  }
  return false;
}

std::shared_ptr<ToolSet> start_run_tools(const Tenant& tenant, const CompiledChain& chain,
                                         int workers, const std::filesystem::path& log_path) {
  if (!has_react_step(chain.def())) return nullptr;
  ToolServerLaunch launch{tenant.dir, log_path, workers};
  return start_tools(tenant.config.tools, tenant.index, launch);
}

}  // namespace fapo
