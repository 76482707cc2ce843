#!/usr/bin/env bash
# The GPU check of the LibTorch/CUDA path, in two halves:
#
#   scripts/gpu_check.sh pack   (here, on a CPU machine with the set-up done)
#       builds a release sysnoise with --features torch,cuda,tensorrt, and packs it with
#       ONNX Runtime's CPU library into target/gpu-check/ (xz, under the 64 MiB a device
#       check may take along).
#   scripts/gpu_check.sh run    (on the GPU machine, from the repository root)
#       unpacks it and runs, against the LibTorch 2.11.0+cu130 and CUDA 13 libraries found there
#       (SYSNOISE_TORCH_SITE, default /opt/torch/.venv/lib/python3.12/site-packages, the
#       PyTorch install that machine carries), the issue's checks, printing every table:
#       `runtimes`; `compare builtin:cnn` (conv, ceil-mode max pool, linear Resize, GEMM) on
#       ort, torch, torch-cuda and the reference, per node; `compare builtin:matmul` (a 512-term
#       bf16/f16 matmul) on torch, torch-bf16, torch-cuda, torch-cuda-bf16, torch-cuda-f16; and
#       torch and torch-cuda on the Conv/Pool/Resize/MatMul/Gemm node tests (packed along). `runtimes`
#       shows ort-cuda/ort-trt unavailable there unless onnxruntime-gpu is present (the 256 MB
#       wheel cannot be taken along and that machine reaches no registry).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
pack="$root/target/gpu-check"
say() { printf '\033[1msysnoise gpu-check:\033[0m %s\n' "$*" >&2; }

case "${1:-}" in
pack)
  export $(scripts/setup_libtorch.sh 2>/dev/null)
  ort_lib="$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"
  say "building a release sysnoise with --features torch,cuda,tensorrt (several minutes on 2 cores)"
  cargo build --release --quiet --features torch,cuda,tensorrt
  rm -rf "$pack" && mkdir -p "$pack/stage"
  cp target/release/sysnoise "$pack/stage/sysnoise"
  strip "$pack/stage/sysnoise"
  cp "$ort_lib" "$pack/stage/"
  # The ONNX node tests of the ops the check is about (~5 MB of the 57 MB).
  cases="${SYSNOISE_NODE_TESTS:-${SYSNOISE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sysnoise}/onnx-node-tests/onnx-1.23.2}"
  [ -d "$cases" ] || { say "no ONNX node tests at $cases: run scripts/setup.sh"; exit 1; }
  mkdir -p "$pack/stage/node-tests"
  cp "$cases/tolerances.json" "$pack/stage/node-tests/" 2>/dev/null || true
  for dir in "$cases"/test_{conv,maxpool,averagepool,resize,matmul,gemm}*; do cp -r "$dir" "$pack/stage/node-tests/"; done
  tar -C "$pack/stage" -cJf "$pack/gpu-check.tar.xz" .
  rm -rf "$pack/stage"
  size=$(stat -c %s "$pack/gpu-check.tar.xz")
  say "packed $pack/gpu-check.tar.xz ($((size / 1048576)) MiB); on the GPU machine: scripts/gpu_check.sh run"
  [ "$size" -lt $((60 * 1048576)) ] || { say "too large to take along (limit 64 MiB)"; exit 1; }
  ;;
run)
  site="${SYSNOISE_TORCH_SITE:-/opt/torch/.venv/lib/python3.12/site-packages}"
  [ -f "$site/torch/lib/libtorch_cuda.so" ] || { say "no LibTorch with CUDA under $site (set SYSNOISE_TORCH_SITE)"; exit 2; }
  [ -f "$pack/gpu-check.tar.xz" ] || { say "no $pack/gpu-check.tar.xz: run 'scripts/gpu_check.sh pack' on the build machine"; exit 2; }
  work="$(mktemp -d)"
  tar -C "$work" -xJf "$pack/gpu-check.tar.xz"
  [ -d "$site/nvidia" ] || { say "no CUDA libraries under $site/nvidia"; exit 2; }
  cuda_dirs="$(find -L "$site/nvidia" -name 'lib*.so*' -printf '%h\n' | sort -u | paste -sd: -)"
  LD_LIBRARY_PATH="$site/torch/lib:$cuda_dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  ORT_DYLIB_PATH="$(ls "$work"/libonnxruntime.so.*)"
  export LD_LIBRARY_PATH ORT_DYLIB_PATH
  sysnoise="$work/sysnoise"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || true
  step() { printf '\n===== %s\n' "$*"; "$sysnoise" "$@" || echo "(exit status $?)"; }
  step runtimes
  step compare builtin:cnn --runtimes ort,torch,torch-cuda,reference --per-node
  step compare builtin:matmul --runtimes torch,torch-bf16,torch-cuda,torch-cuda-bf16,torch-cuda-f16,reference
  step conformance -r torch,torch-cuda --cases "$work/node-tests" --xfail-dir cases/xfail
  ;;
*)
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
