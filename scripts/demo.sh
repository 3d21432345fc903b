#!/usr/bin/env bash
# Sets up, builds, and runs the offline demo: the example tenant evaluated with the simulated
# model, in a scratch workspace so the repository stays clean.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
workspace="${FAPO_DEMO_WORKSPACE:-$(mktemp -d -t fapo-demo-XXXXXX)}"
mkdir -p "$workspace"
rm -rf "$workspace/tenants" && cp -r tenants "$workspace/tenants"
echo "workspace: $workspace" >&2
build/fapo --workspace "$workspace" validate multihop_qa
build/fapo --workspace "$workspace" eval multihop_qa --split train
