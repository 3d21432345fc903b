#!/usr/bin/env bash
# End-to-end tests of `fapo mcp` with clients nobody here wrote: the official MCP TypeScript SDK
# (stdio and Streamable HTTP), the guardrails against a misbehaving agent, the MCP Inspector CLI,
# raw robustness and raw HTTP checks, and the tool_agent example tenant optimised end to end (its
# agent calls tools of an MCP server from npm that fapo starts).
#
#   scripts/run_e2e.sh [path/to/fapo]      (or FAPO_BIN=path/to/fapo scripts/run_e2e.sh)
#
# Installs the pinned npm packages of tests/e2e (npm ci) when they are missing or stale.
# FAPO_WORKSPACE=DIR runs against an existing workspace instead of a temporary copy of tenants/.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-${FAPO_BIN:-$repo/build/fapo}}"
if [[ ! -x "$bin" ]]; then
  echo "run_e2e: no fapo executable at '$bin'; build it or pass its path" >&2
  exit 2
fi
export FAPO_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

cd "$repo/tests/e2e"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "run_e2e: installing pinned test clients (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

node --test --test-concurrency=1 --test-reporter=spec \
  tools.test.mjs guardrails.test.mjs mcp_client.test.mjs inspector_cli.test.mjs robustness.test.mjs \
  http_raw.test.mjs tool_agent.test.mjs
