#!/usr/bin/env bash
# Sets up, builds and runs every test: unit tests (doctest, through ctest) and the end-to-end
# tests that drive the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
ctest --test-dir build --output-on-failure
