// The command-line interface of `fapo`. Each subcommand lives in its own file and registers
// itself on the CLI11 app; `run` parses, dispatches and maps outcomes to exit codes.
#pragma once

#include <string>

#include "engine/base/result.h"

namespace CLI {
class App;
}

namespace fapo::cli {

// Exit codes (documented in docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;     // the command ran and failed (I/O, model, ...)
inline constexpr int kExitInvalid = 2;     // bad usage or invalid tenant/input
inline constexpr int kExitConflict = 3;    // state on disk disagrees (split fingerprint, ...)
inline constexpr int kExitCancelled = 130; // interrupted; the run can be resumed

// Options every subcommand shares.
struct GlobalOptions {
  std::string workspace = ".";
  bool json = false;
  bool quiet = false;
};

int run(int argc, char** argv);

// Prints an error to stderr (or as JSON on stdout with --json) and returns its exit code.
int report_error(const GlobalOptions& options, const Error& error);
int exit_code_for(const Error& error);

// Subcommand registration; each returns through `action` the code to exit with.
void add_validate_command(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_eval_command(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_attribute_command(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_init_command(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_mcp_command(CLI::App& app, GlobalOptions& options, int& exit_code);
void add_demo_command(CLI::App& app, GlobalOptions& options, int& exit_code);

}  // namespace fapo::cli
