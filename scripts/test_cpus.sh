#!/usr/bin/env bash
# The CPU-dependent tests again on another CPU kind: qemu-user's Haswell model (AVX2 and FMA; no
# AVX-512, no VNNI) runs the integration test binary, ONNX Runtime included, so MLAS selects
# its AVX2 int8 kernels (pairs of u8 x s8 products saturate to int16) and the tests check
# that sysnoise's expectation, derived from the CPU it sees, holds there too. Run by test.sh
# after the native tests; arguments go to cargo test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '\033[1msysnoise test_cpus:\033[0m %s\n' "$*" >&2; }
if [ "$(uname -m)" != x86_64 ]; then
  say "the emulated CPU kinds are x86-64 ones; nothing to run on $(uname -m)"
  exit 0
fi
command -v qemu-x86_64 >/dev/null || {
  say "qemu-x86_64 not found: install Debian's qemu-user (apt-get install qemu-user; scripts/setup.sh does this as root)"
  exit 2
}
export $("$root/scripts/setup_libtorch.sh" 2>/dev/null)
say "int8 tests on an emulated Haswell (AVX2, no AVX-512/VNNI): a few minutes"
# TCG lacks a few Haswell features that no test needs (TSX, PCID, ...); qemu warns about each.
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="qemu-x86_64 -cpu Haswell"
SYSNOISE_EXPECT_ORT_INT8=emulated-ort-avx2 \
  cargo test --features torch,cuda,tensorrt --test integration "$@" -- \
  int8_isa:: noise_quantise::int8_ 2> >(grep -v "TCG doesn't support requested feature" >&2)
