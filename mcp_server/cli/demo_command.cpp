// `fapo demo [--workspace DIR]`: the offline walkthrough. Prepares a workspace holding a copy of
// tenants/multihop_qa (a new temporary directory unless --workspace names one), then lets a
// scripted agent optimise it through `fapo mcp`, started from this same executable over stdio.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "mcp_server/cli/cli.h"
#include "mcp_server/demo/demo.h"
#include "mcp_server/demo/demo_workspace.h"

namespace fapo::cli {
namespace {

namespace fs = std::filesystem;

Result<fs::path> this_executable() {
  std::error_code error;
  fs::path path = fs::read_symlink("/proc/self/exe", error);
  if (error) {
    return make_error(ErrorCode::kIo, "cannot find this program's path in /proc/self/exe: " +
                                          error.message());
  }
  return path;
}

// Colour only for a person at a terminal that can show it (https://no-color.org).
bool use_color() {
  const char* term = std::getenv("TERM");
  const char* no_color = std::getenv("NO_COLOR");
  return ::isatty(STDOUT_FILENO) == 1 && (no_color == nullptr || *no_color == '\0') &&
         term != nullptr && std::strcmp(term, "dumb") != 0;
}

int run_demo_command(const GlobalOptions& options, bool workspace_given) {
  auto program = this_executable();
  if (!program.ok()) return report_error(options, program.error());
  // Not finding the source tree is fine when the given workspace already holds the tenant.
  auto source = demo::find_example_tenant(*program, demo::kDemoTenant);
  auto prepared = demo::prepare_workspace(workspace_given ? fs::path(options.workspace) : fs::path(),
                                          source.ok() ? *source : fs::path(), demo::kDemoTenant);
  if (!prepared.ok()) {
    if (!source.ok() && prepared.error().code == ErrorCode::kNotFound) {
      return report_error(options, source.error());
    }
    return report_error(options, prepared.error());
  }
  demo::DemoOptions demo_options;
  demo_options.server_program = *program;
  demo_options.workspace = prepared->root;
  demo_options.server_log = prepared->root / "fapo-mcp.log";
  demo_options.color = use_color();
  Status status = demo::run_demo(demo_options, std::cout);
  std::cout.flush();
  if (!status.ok()) {
    std::cerr << "\nfapo demo failed at " << status.error().message << "\n"
              << "server log: " << demo_options.server_log.string() << "\n"
              << "workspace:  " << prepared->root.string() << "\n";
    return kExitFailure;
  }
  std::cout << "\nworkspace: " << prepared->root.string() << "\n"
            << "  the variants, runs and journal are in .fapo/" << demo::kDemoTenant
            << "; look around with\n  fapo --workspace " << prepared->root.string()
            << " mcp   (connect any MCP client)\n";
  return kExitOk;
}

}  // namespace

void add_demo_command(CLI::App& app, GlobalOptions& options, int& exit_code) {
  auto* command = app.add_subcommand(
      "demo",
      "Watch an agent optimise the example tenant through fapo's MCP server (offline, "
      "simulated model, under a minute). Uses a new temporary workspace unless --workspace is "
      "given; the workspace is kept and printed at the end");
  command->callback([&app, &options, &exit_code] {
    bool workspace_given = app.get_option("--workspace")->count() > 0;
    exit_code = run_demo_command(options, workspace_given);
  });
}

}  // namespace fapo::cli
