// The workspace `fapo demo` runs in: a directory holding a copy of the example tenant from the
// source tree, and nothing else of the user's. By default a fresh temporary directory; a
// directory the user names is used and kept, but only if no earlier optimisation of the tenant
// lives there (variants are immutable and the final test is sealed once, so a second demo in the
// same place could not run its story).
//
// Free functions touching the file system; safe to call from any thread for distinct paths.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace fapo::demo {

inline constexpr std::string_view kDemoTenant = "multihop_qa";

// The directories searched for tenants/<tenant_id>, in order: beside the program and one level
// up (a build directory inside the source tree), <prefix>/share/fapo/tenants for an installed
// program, then the current directory.
std::vector<std::filesystem::path> tenant_search_dirs(const std::filesystem::path& program);

// The first tenants/<tenant_id> among tenant_search_dirs that holds a tenant.json; kNotFound
// listing every place searched otherwise.
Result<std::filesystem::path> find_example_tenant(const std::filesystem::path& program,
                                                  std::string_view tenant_id);

struct PreparedWorkspace {
  std::filesystem::path root;
  bool created = false;         // a new temporary directory was made
  bool copied_tenant = false;   // the tenant was copied in (not already there)
};

// Makes `requested` (or, when empty, a new directory under the system temp dir) ready: the
// tenant copied from `tenant_source` unless the workspace already has it. kConflict when the
// workspace already holds server state for the tenant.
Result<PreparedWorkspace> prepare_workspace(const std::filesystem::path& requested,
                                            const std::filesystem::path& tenant_source,
                                            std::string_view tenant_id);

}  // namespace fapo::demo
