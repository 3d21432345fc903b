// The workspace: one directory holding `tenants/` (the user's inputs) and `.fapo/` (state the
// server owns). This is the one module that knows where things live on disk; everything else
// asks it for paths, so the layout is written down in exactly one place:
//
//   <root>/tenants/<tenant>/tenant.json ...        inputs, owned by the user
//   <root>/.fapo/<tenant>/splits.json               split manifest, written once
//   <root>/.fapo/<tenant>/cache.sqlite              model response cache
//   <root>/.fapo/<tenant>/journal.sqlite            journal
//   <root>/.fapo/<tenant>/runs/<run_id>/            one run (see RunFiles)
//   <root>/.fapo/<tenant>/variants/<variant_id>/    one stored variant (chain.json, prompts/)
//
// Identifiers are confined before they become paths: a tenant id matches
// ^[a-z0-9][a-z0-9_-]{0,63}$ and a run id has the shape of make_run_id, so neither can name a
// parent directory, a separator or an absolute path. Validate ids from users with
// check_tenant_id / check_run_id at the edge. The path functions take only valid ids: an
// invalid one is a bug in the caller, and because the check guards a security boundary it
// aborts the process in every build type (not only under assert), rather than build a path
// that escapes the workspace.
//
// A Workspace is an immutable value (its canonical root); copies are cheap and every member is
// thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace fapo {

namespace fs = std::filesystem;

// Validates an id given by a user; the message says what is wrong and what ids look like.
Status check_tenant_id(std::string_view tenant_id);
Status check_run_id(std::string_view run_id);
// A stored variant's id is the 64-hex-digit content hash of its pipeline.
Status check_variant_id(std::string_view variant_id);

// The files of one run directory.
struct RunFiles {
  fs::path dir;
  fs::path plan;      // plan.json: what the run evaluates; written atomically at creation
  fs::path results;   // results.jsonl: one JSON object per finished (case_id, trial)
  fs::path progress;  // progress.json: rewritten atomically while the run goes
  fs::path manifest;  // manifest.json: written last; its presence with status complete = done
  fs::path lock;      // lock: flock(2)ed by the one process writing the run
};

class Workspace {
 public:
  // `root` must be an existing directory; it is canonicalised (symlinks resolved).
  static Result<Workspace> open(const fs::path& root);

  const fs::path& root() const { return root_; }

  fs::path tenants_dir() const;                                    // root/tenants
  fs::path tenant_dir(std::string_view tenant_id) const;           // root/tenants/<id>
  fs::path state_root() const;                                     // root/.fapo
  fs::path state_dir(std::string_view tenant_id) const;            // root/.fapo/<id>
  fs::path split_manifest_path(std::string_view tenant_id) const;  // state_dir/splits.json
  fs::path cache_db_path(std::string_view tenant_id) const;        // state_dir/cache.sqlite
  fs::path journal_db_path(std::string_view tenant_id) const;      // state_dir/journal.sqlite
  fs::path runs_dir(std::string_view tenant_id) const;             // state_dir/runs
  fs::path run_dir(std::string_view tenant_id, std::string_view run_id) const;
  RunFiles run_files(std::string_view tenant_id, std::string_view run_id) const;
  fs::path variants_dir(std::string_view tenant_id) const;  // state_dir/variants
  fs::path variant_dir(std::string_view tenant_id, std::string_view variant_id) const;

  // Resolves a path given by a user (relative to the root, or absolute) and confines it: after
  // weakly_canonical (which follows symlinks in the part that exists) it must lie inside the
  // root and outside `.fapo/`, which only the server writes. kInvalidInput otherwise, with a
  // message naming the path, where it leads, and (when a symlink is to blame) saying so.
  Result<fs::path> resolve_inside(const fs::path& user_path) const;

  // Tenant ids: directories under tenants/ whose name is a valid id and that hold a
  // tenant.json. Sorted. Empty when tenants/ does not exist.
  std::vector<std::string> list_tenants() const;

  // `path` relative to the root when inside it (for messages), else as is.
  std::string display_path(const fs::path& path) const;

 private:
  explicit Workspace(fs::path root) : root_(std::move(root)) {}

  fs::path root_;
};

}  // namespace fapo
