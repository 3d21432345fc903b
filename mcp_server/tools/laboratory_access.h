// How the protocol tools (propose_variant, get_variant, export_variant, record_note, history)
// reach a tenant's Laboratory: from the server's pool when it has one (one Laboratory per
// tenant for the server's life), otherwise opened for the one call. Free functions; thread-safe.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/protocol/laboratory.h"
#include "mcp_server/tools/tool.h"

namespace fapo::mcp {

// The Laboratory of the "tenant_id" argument, after checking that the tenant exists (with a
// "did you mean" for a typo).
Result<std::shared_ptr<Laboratory>> open_laboratory(const ServerContext& context,
                                                    const nlohmann::json& arguments);

// The "variant" argument (absent: `fallback`), resolved: names, ids, prefixes, "best",
// "baseline".
Result<VariantRecord> variant_argument(Laboratory& lab, const nlohmann::json& arguments,
                                       const std::string& fallback = "best");

}  // namespace fapo::mcp
