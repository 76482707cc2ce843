#!/usr/bin/env bash
# Installs the LibTorch 2.11.0 C++ libraries that sysnoise's optional `torch` runtime (tch 0.24.0,
# cargo feature `torch`) links against, from PyPI only, into <cache>/libtorch-2.11.0 (idempotent;
# re-running is cheap). scripts/setup.sh runs it; scripts/test.sh, scripts/demo.sh and .ci/run build
# with `--features torch` in the environment it prints.
#
# PyPI has no CPU-only torch wheel, so this installs the CUDA wheel without its dependencies plus
# the only two CUDA libraries libtorch_cpu.so itself links (libcudart, libcupti): ~530 MB.
# The pins come from the wheels' METADATA: torch 2.11.0 requires
# `cuda-toolkit[cudart,cupti,...]==13.0.2`, whose METADATA pins `nvidia-cuda-runtime==13.0.96.*`
# and `nvidia-cuda-cupti==13.0.85.*`.
#
# Prints (on stdout) the environment to build with, e.g.
#   export $(scripts/setup_libtorch.sh)
#   cargo build --features torch
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '\033[1msysnoise setup:\033[0m %s\n' "$*" >&2; }

torch_version=2.11.0
cuda_toolkit_version=13.0.2
cuda_runtime_pin=13.0.96
cuda_cupti_pin=13.0.85

python="$root/.venv/bin/python"
[ -x "$python" ] || { say "no Python environment at $root/.venv: run scripts/setup.sh first"; exit 2; }

cache="${SYSNOISE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sysnoise}"
dir="$cache/libtorch-$torch_version"
if [ -f "$dir/.complete" ]; then
  say "LibTorch $torch_version already installed ($dir)"
else
  say "installing LibTorch $torch_version from PyPI into $dir (torch wheel without dependencies + libcudart + libcupti, ~530 MB)"
  rm -rf "$dir.partial"
  mkdir -p "$cache"
  "$python" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile --no-cache-dir --only-binary=:all: \
    --target "$dir.partial" \
    "torch==$torch_version" "nvidia-cuda-runtime==$cuda_runtime_pin" "nvidia-cuda-cupti==$cuda_cupti_pin"
  [ -f "$dir.partial/torch/lib/libtorch_cpu.so" ] || { say "the torch wheel has no torch/lib/libtorch_cpu.so"; exit 1; }
  # The CUDA pins above are derived from this requirement: refuse a wheel that asks for another toolkit.
  metadata="$dir.partial/torch-$torch_version.dist-info/METADATA"
  if ! grep -q "^Requires-Dist: cuda-toolkit\[.*\]==$cuda_toolkit_version" "$metadata"; then
    say "torch $torch_version no longer requires cuda-toolkit==$cuda_toolkit_version ($metadata): update the CUDA pins"
    exit 1
  fi
  rm -rf "$dir"
  mv "$dir.partial" "$dir"
  touch "$dir/.complete"
fi
echo "LIBTORCH=$dir/torch LIBTORCH_CXX11_ABI=1"
