#include "engine/tools/tool_set.h"

#include <array>
#include <utility>

namespace fapo {

namespace {
constexpr std::array<std::pair<ToolErrorKind, const char*>, 7> kKindNames = {{
    {ToolErrorKind::kNone, ""},
    {ToolErrorKind::kTimeout, "timeout"},
    {ToolErrorKind::kUnknownTool, "unknown_tool"},
    {ToolErrorKind::kInvalidArguments, "invalid_arguments"},
    {ToolErrorKind::kPermission, "permission"},
    {ToolErrorKind::kOther, "other"},
    {ToolErrorKind::kLimit, "limit"},
}};
}  // namespace

const char* tool_error_kind_name(ToolErrorKind kind) {
  for (const auto& [value, name] : kKindNames) {
    if (value == kind) return name;
  }
  return "other";
}

ToolErrorKind tool_error_kind_from_name(const std::string& name) {
  for (const auto& [value, kind_name] : kKindNames) {
    if (name == kind_name) return value;
  }
  return ToolErrorKind::kOther;
}

ToolSet::ToolSet(std::vector<std::unique_ptr<ToolProvider>> providers)
    : providers_(std::move(providers)) {
  for (const auto& provider : providers_) {
    if (auto error = provider->start_error()) {
      for (const std::string& tool : provider->allowed_tools()) {
        unavailable_.emplace(tool, *error);  // start_error() names the server
      }
      continue;
    }
    // Names are unique across providers (checked when the tenant loads); the first wins.
    for (const ToolDefinition& tool : provider->tools()) {
      by_name_.emplace(tool.name, std::make_pair(provider.get(), &tool));
    }
  }
}

ToolProvider* ToolSet::provider_of(const std::string& tool) const {
  auto found = by_name_.find(tool);
  return found == by_name_.end() ? nullptr : found->second.first;
}

const ToolDefinition* ToolSet::definition(const std::string& tool) const {
  auto found = by_name_.find(tool);
  return found == by_name_.end() ? nullptr : found->second.second;
}

}  // namespace fapo
