#include "mcp_server/demo/demo_workspace.h"

#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <system_error>

namespace fapo::demo {
namespace {

namespace fs = std::filesystem;

Result<fs::path> make_temp_workspace() {
  std::error_code error;
  fs::path base = fs::temp_directory_path(error);
  if (error) base = "/tmp";
  std::string pattern = (base / "fapo-demo-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return make_error(ErrorCode::kIo, "cannot create a temporary workspace under " +
                                          base.string() + ": " + std::strerror(errno));
  }
  return fs::path(pattern);
}

Status copy_tenant(const fs::path& source, const fs::path& target) {
  std::error_code error;
  fs::create_directories(target.parent_path(), error);
  if (!error) fs::copy(source, target, fs::copy_options::recursive, error);
  if (error) {
    return make_error(ErrorCode::kIo, "cannot copy " + source.string() + " to " +
                                          target.string() + ": " + error.message());
  }
  return ok_status();
}

}  // namespace

std::vector<fs::path> tenant_search_dirs(const fs::path& program) {
  std::vector<fs::path> dirs;
  if (!program.empty()) {
    fs::path bin = program.parent_path();
    dirs.push_back(bin / "tenants");
    dirs.push_back(bin.parent_path() / "tenants");
    dirs.push_back(bin.parent_path() / "share" / "fapo" / "tenants");
  }
  std::error_code error;
  fs::path here = fs::current_path(error);
  if (!error) dirs.push_back(here / "tenants");
  std::vector<fs::path> unique;
  for (const fs::path& dir : dirs) {
    fs::path normal = dir.lexically_normal();
    if (std::find(unique.begin(), unique.end(), normal) == unique.end()) unique.push_back(normal);
  }
  return unique;
}

Result<fs::path> find_example_tenant(const fs::path& program, std::string_view tenant_id) {
  std::vector<fs::path> dirs = tenant_search_dirs(program);
  std::string searched;
  for (const fs::path& dir : dirs) {
    fs::path candidate = dir / tenant_id;
    std::error_code error;
    if (fs::is_regular_file(candidate / "tenant.json", error)) return candidate;
    searched += "\n  " + candidate.string();
  }
  return make_error(ErrorCode::kNotFound,
                    "cannot find the example tenant " + std::string(tenant_id) +
                        " (a copy of the source tree's tenants/" + std::string(tenant_id) +
                        "); looked in:" + searched +
                        "\nrun fapo demo from the source tree, or pass --workspace DIR with "
                        "DIR/tenants/" + std::string(tenant_id) + " in it");
}

Result<PreparedWorkspace> prepare_workspace(const fs::path& requested, const fs::path& tenant_source,
                                            std::string_view tenant_id) {
  PreparedWorkspace prepared;
  if (requested.empty()) {
    FAPO_ASSIGN_OR_RETURN(prepared.root, make_temp_workspace());
    prepared.created = true;
  } else {
    std::error_code error;
    prepared.root = fs::absolute(requested, error);
    if (!error) fs::create_directories(prepared.root, error);
    if (error) {
      return make_error(ErrorCode::kIo, "cannot create the workspace " + requested.string() +
                                            ": " + error.message());
    }
    fs::path state = prepared.root / ".fapo" / tenant_id;
    if (fs::exists(state, error)) {
      return make_error(ErrorCode::kConflict,
                        state.string() + " already holds an optimisation of " +
                            std::string(tenant_id) +
                            " (variants, journal, perhaps a sealed final test), so the demo "
                            "cannot start from the baseline there; pass a new directory or "
                            "remove " + state.string());
    }
  }
  fs::path target = prepared.root / "tenants" / tenant_id;
  std::error_code error;
  if (fs::is_regular_file(target / "tenant.json", error)) return prepared;
  if (tenant_source.empty()) {
    return make_error(ErrorCode::kNotFound, "the workspace has no " + target.string() +
                                                " and no example tenant was found to copy");
  }
  FAPO_RETURN_IF_ERROR(copy_tenant(tenant_source, target));
  prepared.copied_tenant = true;
  return prepared;
}

}  // namespace fapo::demo
