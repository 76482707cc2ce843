#!/usr/bin/env bash
# The README's first command: set up (idempotent), build, and run the main job on the embedded
# default — `sysnoise compare` on a small CNN the project builds itself, on ONNX Runtime, tract
# and the f64 reference, with per-node attribution. Extra arguments go to `sysnoise compare`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
echo "sysnoise: building (the first build compiles tract and takes several minutes)" >&2
cargo build --quiet --bin sysnoise
exec "$root/target/debug/sysnoise" compare builtin:cnn --per-node "$@"
