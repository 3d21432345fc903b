#!/usr/bin/env bash
# Installs what is missing, builds fapo, and runs the offline demo: an agent optimises the
# example tenant through fapo's MCP server on the simulated model, in a scratch workspace
# (printed at the end) so the repository stays clean.
# Usage: scripts/demo.sh [--workspace DIR]   (extra arguments go to `fapo demo`)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >&2
exec build/fapo demo "$@"
