#!/usr/bin/env bash
# The README's second command: set up (idempotent), then run every test of the workspace
# against the real runtimes (ONNX Runtime from the pinned PyPI wheel, tract, LibTorch from the
# PyPI torch wheel, the reference).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
echo "sysnoise: running the tests (the first build compiles tract and takes several minutes)" >&2
# LIBTORCH / LIBTORCH_CXX11_ABI for tch's build (the torch runtimes are a cargo feature). The
# GPU runtimes' features need nothing at build time; without a GPU their tests check that they
# report themselves unavailable with the reason.
export $("$root/scripts/setup_libtorch.sh" 2>/dev/null)
cargo test --workspace --features torch,cuda,tensorrt "$@"
# The same int8 expectations on a second CPU kind (AVX2 without VNNI, emulated by qemu-user).
"$root/scripts/test_cpus.sh"
