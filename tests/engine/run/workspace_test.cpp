#include "engine/run/workspace.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/test_support.h"

namespace fapo {
namespace {

using testing::TempDir;
using testing::write_text;

Workspace open_workspace(const fs::path& root) {
  auto workspace = Workspace::open(root);
  REQUIRE(workspace.ok());
  return *workspace;
}

void check_refused(const Workspace& workspace, const fs::path& path, const std::string& fragment) {
  auto resolved = workspace.resolve_inside(path);
  INFO("path: ", path.string());
  REQUIRE_FALSE(resolved.ok());
  CHECK(resolved.error().code == ErrorCode::kInvalidInput);
  CHECK(resolved.error().message.find(fragment) != std::string::npos);
}

TEST_CASE("opens a workspace through a symlink and keeps its canonical root") {
  TempDir temp;
  fs::create_directories(temp.path() / "real");
  fs::create_directory_symlink(temp.path() / "real", temp.path() / "alias");
  Workspace workspace = open_workspace(temp.path() / "alias");
  CHECK(workspace.root() == fs::canonical(temp.path() / "real"));
}

TEST_CASE("refuses a workspace that does not exist or is a file") {
  TempDir temp;
  auto missing = Workspace::open(temp.path() / "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(missing.error().message.find("does not exist") != std::string::npos);

  write_text(temp.path() / "file", "x");
  auto file = Workspace::open(temp.path() / "file");
  REQUIRE_FALSE(file.ok());
  CHECK(file.error().code == ErrorCode::kInvalidInput);
  CHECK(file.error().message.find("not a directory") != std::string::npos);
}

TEST_CASE("accepts tenant ids of lowercase letters, digits, '_' and '-'") {
  for (const char* id : {"qa", "cve-cwe_2", "0abc", "a"}) {
    INFO(id);
    CHECK(check_tenant_id(id).ok());
  }
  CHECK(check_tenant_id(std::string(64, 'a')).ok());
}

TEST_CASE("refuses tenant ids that could leave the tenants directory or are junk") {
  const std::vector<std::string> ids = {"",
                                        "..",
                                        ".",
                                        "../x",
                                        "a/b",
                                        "/etc",
                                        "QA",
                                        "-x",
                                        "_x",
                                        "a b",
                                        "a\nb",
                                        "a.b",
                                        std::string(65, 'a')};
  for (const std::string& id : ids) {
    INFO("id: ", id);
    Status status = check_tenant_id(id);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == ErrorCode::kInvalidInput);
    CHECK(status.error().message.find("a tenant id is 1 to 64 characters") != std::string::npos);
  }
  // The offending id is quoted with control characters escaped.
  CHECK(check_tenant_id("a\nb").error().message.find("\"a\\nb\"") != std::string::npos);
}

TEST_CASE("accepts only run ids of the generated shape") {
  CHECK(check_run_id("r20250102-030405-a1b2c3").ok());
  for (const char* id :
       {"", "..", "../r20250102-030405-a1b2c3", "r20250102-030405-A1B2C3", "r20250102-030405-a1b2c",
        "r20250102-030405-a1b2c3/", "/tmp/x", "x20250102-030405-a1b2c3"}) {
    INFO("id: ", id);
    Status status = check_run_id(id);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code == ErrorCode::kInvalidInput);
    CHECK(status.error().message.find("run ids look like") != std::string::npos);
  }
}

TEST_CASE("lays out tenant inputs and server state as documented") {
  TempDir temp;
  Workspace workspace = open_workspace(temp.path());
  const fs::path& root = workspace.root();
  CHECK(workspace.tenant_dir("qa") == root / "tenants" / "qa");
  CHECK(workspace.state_dir("qa") == root / ".fapo" / "qa");
  CHECK(workspace.split_manifest_path("qa") == root / ".fapo" / "qa" / "splits.json");
  CHECK(workspace.cache_db_path("qa") == root / ".fapo" / "qa" / "cache.sqlite");
  CHECK(workspace.journal_db_path("qa") == root / ".fapo" / "qa" / "journal.sqlite");
  CHECK(workspace.runs_dir("qa") == root / ".fapo" / "qa" / "runs");
  RunFiles files = workspace.run_files("qa", "r20250102-030405-a1b2c3");
  CHECK(files.dir == root / ".fapo" / "qa" / "runs" / "r20250102-030405-a1b2c3");
  CHECK(files.plan == files.dir / "plan.json");
  CHECK(files.results == files.dir / "results.jsonl");
  CHECK(files.progress == files.dir / "progress.json");
  CHECK(files.manifest == files.dir / "manifest.json");
  CHECK(workspace.display_path(files.plan) == ".fapo/qa/runs/r20250102-030405-a1b2c3/plan.json");
}

TEST_CASE("resolves user paths inside the workspace, existing or not") {
  TempDir temp;
  write_text(temp.path() / "tenants" / "qa" / "notes.txt", "x");
  Workspace workspace = open_workspace(temp.path());
  auto existing = workspace.resolve_inside("tenants/qa/notes.txt");
  REQUIRE(existing.ok());
  CHECK(*existing == workspace.root() / "tenants" / "qa" / "notes.txt");
  auto fresh = workspace.resolve_inside("a/b");
  REQUIRE(fresh.ok());
  CHECK(*fresh == workspace.root() / "a" / "b");
  auto absolute = workspace.resolve_inside(workspace.root() / "exports" / "v1.json");
  REQUIRE(absolute.ok());
  CHECK(*absolute == workspace.root() / "exports" / "v1.json");
  auto dotted = workspace.resolve_inside("tenants/../exports/./v1.json");
  REQUIRE(dotted.ok());
  CHECK(*dotted == workspace.root() / "exports" / "v1.json");
}

TEST_CASE("refuses user paths that lead outside the workspace") {
  TempDir temp;
  fs::create_directories(temp.path() / "ws");
  Workspace workspace = open_workspace(temp.path() / "ws");
  check_refused(workspace, "../x", "outside the workspace");
  check_refused(workspace, "..", "outside the workspace");
  check_refused(workspace, "tenants/../../x", "outside the workspace");
  check_refused(workspace, "/etc/passwd", "resolves to '/etc/passwd'");
  check_refused(workspace, "", "path is empty");
}

TEST_CASE("refuses a user path that escapes through a symlink") {
  TempDir temp;
  fs::create_directories(temp.path() / "ws" / "tenants");
  fs::create_directories(temp.path() / "outside");
  fs::create_directory_symlink(temp.path() / "outside", temp.path() / "ws" / "tenants" / "link");
  Workspace workspace = open_workspace(temp.path() / "ws");
  check_refused(workspace, "tenants/link/secret.txt", "through a symbolic link");
  check_refused(workspace, "tenants/link", "outside the workspace");
}

TEST_CASE("refuses user paths inside the server's state directory") {
  TempDir temp;
  fs::create_directories(temp.path() / ".fapo" / "qa");
  Workspace workspace = open_workspace(temp.path());
  check_refused(workspace, ".fapo/qa/runs", "only the server writes");
  check_refused(workspace, ".fapo", "only the server writes");
}

TEST_CASE("lists tenant directories that hold a tenant.json, sorted") {
  TempDir temp;
  Workspace workspace = open_workspace(temp.path());
  CHECK(workspace.list_tenants().empty());  // no tenants/ yet

  write_text(temp.path() / "tenants" / "zeta" / "tenant.json", "{}");
  write_text(temp.path() / "tenants" / "alpha" / "tenant.json", "{}");
  write_text(temp.path() / "tenants" / "no-config" / "dataset.jsonl", "");
  write_text(temp.path() / "tenants" / "Bad Name" / "tenant.json", "{}");
  write_text(temp.path() / "tenants" / "stray.json", "{}");
  CHECK(workspace.list_tenants() == std::vector<std::string>{"alpha", "zeta"});
}

}  // namespace
}  // namespace fapo
