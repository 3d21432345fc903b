// The `fapo` executable: every subcommand is wired in mcp_server/cli/.
#include "mcp_server/cli/cli.h"

int main(int argc, char** argv) { return fapo::cli::run(argc, argv); }
