#include "mcp_server/cli/cli.h"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include <nlohmann/json.hpp>

namespace fapo::cli {

int exit_code_for(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidInput:
    case ErrorCode::kNotFound:
      return kExitInvalid;
    case ErrorCode::kConflict:
      return kExitConflict;
    case ErrorCode::kCancelled:
      return kExitCancelled;
    default:
      return kExitFailure;
  }
}

int report_error(const GlobalOptions& options, const Error& error) {
  if (options.json) {
    nlohmann::json out = {{"ok", false},
                          {"error", {{"code", error_code_name(error.code)},
                                     {"message", error.message}}}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cerr << "error: " << error.message << "\n";
  }
  return exit_code_for(error);
}

int run(int argc, char** argv) {
  // Logs never go to stdout: with `fapo mcp` over stdio, stdout is the protocol.
  auto logger = spdlog::stderr_color_mt("fapo");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::warn);

  CLI::App app{"fapo: optimise multi-step LLM pipelines, with the rules enforced by the server"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  app.set_version_flag("--version", "fapo 0.1.0");
  GlobalOptions options;
  int exit_code = kExitOk;
  app.add_option("--workspace", options.workspace,
                 "Workspace directory holding tenants/ and .fapo/ (default: current directory)");
  add_validate_command(app, options, exit_code);
  add_eval_command(app, options, exit_code);
  add_attribute_command(app, options, exit_code);
  add_init_command(app, options, exit_code);
  add_mcp_command(app, options, exit_code);
  add_demo_command(app, options, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kExitOk : kExitInvalid;
  }
  return exit_code;
}

}  // namespace fapo::cli
