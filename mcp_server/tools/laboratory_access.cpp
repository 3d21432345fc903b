#include "mcp_server/tools/laboratory_access.h"

#include "mcp_server/tools/tool_support.h"

namespace fapo::mcp {

Result<std::shared_ptr<Laboratory>> open_laboratory(const ServerContext& context,
                                                    const nlohmann::json& arguments) {
  FAPO_ASSIGN_OR_RETURN(Workspace workspace, open_tenant(context, arguments));
  const std::string tenant_id = arguments["tenant_id"].get<std::string>();
  if (context.laboratories) return context.laboratories->get(tenant_id);
  FAPO_ASSIGN_OR_RETURN(std::unique_ptr<Laboratory> lab, Laboratory::open(workspace, tenant_id));
  return std::shared_ptr<Laboratory>(std::move(lab));
}

Result<VariantRecord> variant_argument(Laboratory& lab, const nlohmann::json& arguments,
                                       const std::string& fallback) {
  return lab.resolve(arguments.value("variant", fallback));
}

}  // namespace fapo::mcp
