// The resources fapo serves, read-only documents a client can attach to a conversation:
//
//   fapo://tenants/<tenant_id>/readme               the tenant's README.md, or a generated
//                                                   description when it has none
//   fapo://tenants/<tenant_id>/runs/<run_id>/report a run report (run_report.h)
//
// resources/list shows every tenant's README and the reports of each tenant's latest runs
// (train and validation only); both URI shapes are also offered as resource templates.
// install_resource_methods() puts resources/list, resources/templates/list and resources/read
// on a dispatcher; this file is where their result objects are spelled in the protocol's words.
//
// Functions are thread-safe; they read the workspace on every call (nothing is cached).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"
#include "mcp_server/server/dispatcher.h"
#include "mcp_server/tools/tool.h"

namespace fapo::mcp {

struct ResourceEntry {
  std::string uri;  // or a URI template (RFC 6570 level 1) in resource_templates()
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
};

struct ResourceText {
  std::string uri;
  std::string mime_type;
  std::string text;
};

// Runs listed per tenant in resources/list, newest first.
inline constexpr std::size_t kListedRunsPerTenant = 10;

std::vector<ResourceEntry> list_resources(const ServerContext& context);
std::vector<ResourceEntry> resource_templates();

// kNotFound for a URI fapo does not serve or an unknown tenant or run; kInvalidInput for a test
// run (with the reason). Text is sanitised and kept under about 24,000 characters.
Result<ResourceText> read_resource(const ServerContext& context, std::string_view uri);

// Registers the three resource methods on `dispatcher` (before its first message).
// `context` must outlive the dispatcher.
void install_resource_methods(Dispatcher& dispatcher, const ServerContext& context);

}  // namespace fapo::mcp
