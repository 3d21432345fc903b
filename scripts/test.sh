#!/usr/bin/env bash
# Sets up, builds and runs every test: unit tests (doctest, through ctest), the end-to-end tests
# that drive the built binary with the official MCP SDK client and Inspector CLI, and the
# official MCP conformance suite over Streamable HTTP. Needs no network once set up, except
# the first `npm ci` of the pinned test clients.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
scripts/setup_node.sh
ctest --test-dir build --output-on-failure
scripts/run_e2e.sh build/fapo
scripts/run_conformance.sh build/fapo
