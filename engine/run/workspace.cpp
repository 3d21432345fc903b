#include "engine/run/workspace.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "engine/run/run_id.h"

namespace fapo {
namespace {

constexpr std::size_t kMaxTenantIdLength = 64;
constexpr std::size_t kMaxQuotedLength = 80;
constexpr const char* kStateDirName = ".fapo";

// Quotes an untrusted id for a message: escapes control characters and caps the length.
std::string quote(std::string_view text) {
  std::string shown(text.substr(0, kMaxQuotedLength));
  if (text.size() > kMaxQuotedLength) shown += "...";
  return nlohmann::json(shown).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool is_tenant_id_char(char c, bool first) {
  bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  return alnum || (!first && (c == '_' || c == '-'));
}

// An id reaching a path function unchecked is a caller bug at a security boundary: stop.
void require(const Status& status) {
  if (status.ok()) return;
  std::fprintf(stderr, "fapo: bug: unvalidated id reached Workspace: %s\n",
               status.error().message.c_str());
  std::abort();
}

// True when `path` equals `base` or lies below it, comparing whole components.
bool has_prefix(const fs::path& base, const fs::path& path) {
  auto b = base.begin();
  auto p = path.begin();
  for (; b != base.end(); ++b, ++p) {
    if (p == path.end() || *p != *b) return false;
  }
  return true;
}

}  // namespace

Status check_tenant_id(std::string_view tenant_id) {
  const char* rule =
      ": a tenant id is 1 to 64 characters of a-z, 0-9, '_' and '-', starting with a letter or "
      "digit (like \"qa\" or \"cve-cwe_2\")";
  if (tenant_id.empty()) {
    return make_error(ErrorCode::kInvalidInput, std::string("tenant id is empty") + rule);
  }
  bool valid = tenant_id.size() <= kMaxTenantIdLength;
  for (std::size_t i = 0; valid && i < tenant_id.size(); ++i) {
    valid = is_tenant_id_char(tenant_id[i], i == 0);
  }
  if (valid) return ok_status();
  return make_error(ErrorCode::kInvalidInput, "invalid tenant id " + quote(tenant_id) + rule);
}

Status check_run_id(std::string_view run_id) {
  if (is_well_formed_run_id(run_id)) return ok_status();
  return make_error(ErrorCode::kInvalidInput,
                    "invalid run id " + quote(run_id) +
                        ": run ids look like \"r20250102-030405-a1b2c3\" (as returned when a run "
                        "starts)");
}

Status check_variant_id(std::string_view variant_id) {
  bool valid = variant_id.size() == 64 &&
               std::all_of(variant_id.begin(), variant_id.end(), [](char c) {
                 return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
               });
  if (valid) return ok_status();
  return make_error(ErrorCode::kInvalidInput,
                    "invalid variant id " + quote(variant_id) +
                        ": a variant id is the 64 hex digits returned when it was proposed");
}

Result<Workspace> Workspace::open(const fs::path& root) {
  std::error_code ec;
  fs::path canonical = fs::canonical(root, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return make_error(ErrorCode::kNotFound, "workspace directory '" + root.string() +
                                                  "' does not exist; create it or pass "
                                                  "--workspace DIR");
    }
    return make_error(ErrorCode::kIo,
                      "workspace directory '" + root.string() + "': " + ec.message());
  }
  if (!fs::is_directory(canonical, ec)) {
    return make_error(ErrorCode::kInvalidInput,
                      "workspace '" + root.string() + "' is not a directory");
  }
  return Workspace(std::move(canonical));
}

fs::path Workspace::tenants_dir() const { return root_ / "tenants"; }

fs::path Workspace::tenant_dir(std::string_view tenant_id) const {
  require(check_tenant_id(tenant_id));
  return tenants_dir() / tenant_id;
}

fs::path Workspace::state_root() const { return root_ / kStateDirName; }

fs::path Workspace::state_dir(std::string_view tenant_id) const {
  require(check_tenant_id(tenant_id));
  return state_root() / tenant_id;
}

fs::path Workspace::split_manifest_path(std::string_view tenant_id) const {
  return state_dir(tenant_id) / "splits.json";
}

fs::path Workspace::cache_db_path(std::string_view tenant_id) const {
  return state_dir(tenant_id) / "cache.sqlite";
}

fs::path Workspace::journal_db_path(std::string_view tenant_id) const {
  return state_dir(tenant_id) / "journal.sqlite";
}

fs::path Workspace::runs_dir(std::string_view tenant_id) const {
  return state_dir(tenant_id) / "runs";
}

fs::path Workspace::run_dir(std::string_view tenant_id, std::string_view run_id) const {
  require(check_run_id(run_id));
  return runs_dir(tenant_id) / run_id;
}

fs::path Workspace::variants_dir(std::string_view tenant_id) const {
  return state_dir(tenant_id) / "variants";
}

fs::path Workspace::variant_dir(std::string_view tenant_id, std::string_view variant_id) const {
  require(check_variant_id(variant_id));
  return variants_dir(tenant_id) / variant_id;
}

RunFiles Workspace::run_files(std::string_view tenant_id, std::string_view run_id) const {
  fs::path dir = run_dir(tenant_id, run_id);
  return RunFiles{dir,
                  dir / "plan.json",
                  dir / "results.jsonl",
                  dir / "progress.json",
                  dir / "manifest.json",
                  dir / "lock"};
}

Result<fs::path> Workspace::resolve_inside(const fs::path& user_path) const {
  const std::string& text = user_path.native();
  if (text.empty()) return make_error(ErrorCode::kInvalidInput, "path is empty");
  if (text.find('\0') != std::string::npos) {
    return make_error(ErrorCode::kInvalidInput, "path " + quote(text) + " contains a NUL byte");
  }
  fs::path joined = user_path.is_absolute() ? user_path : root_ / user_path;
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(joined, ec);
  if (ec) {
    return make_error(ErrorCode::kIo, "path " + quote(text) + ": cannot resolve: " + ec.message());
  }
  if (!has_prefix(root_, resolved)) {
    bool via_symlink = has_prefix(root_, joined.lexically_normal());
    return make_error(ErrorCode::kInvalidInput,
                      "path " + quote(text) + " resolves to '" + resolved.string() + "'" +
                          (via_symlink ? " through a symbolic link" : "") +
                          ", outside the workspace '" + root_.string() +
                          "'; give a path inside the workspace");
  }
  if (has_prefix(state_root(), resolved)) {
    return make_error(ErrorCode::kInvalidInput,
                      "path " + quote(text) + " lies inside '" + kStateDirName +
                          "/', which only the server writes; give a path elsewhere in the "
                          "workspace");
  }
  return resolved;
}

std::vector<std::string> Workspace::list_tenants() const {
  std::vector<std::string> ids;
  std::error_code ec;
  fs::directory_iterator it(tenants_dir(), ec);
  if (ec) return ids;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!check_tenant_id(name).ok()) continue;
    std::error_code entry_ec;
    if (!it->is_directory(entry_ec)) continue;
    if (!fs::is_regular_file(it->path() / "tenant.json", entry_ec)) continue;
    ids.push_back(std::move(name));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string Workspace::display_path(const fs::path& path) const {
  if (!has_prefix(root_, path)) return path.string();
  return path.lexically_relative(root_).string();
}

}  // namespace fapo
