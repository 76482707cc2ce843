#!/usr/bin/env bash
# GPU machines only (not run by setup.sh, tests or CI): installs, from PyPI only, what the GPU
# runtimes need beside the NVIDIA driver:
#   - onnxruntime-gpu (the ONNX Runtime library with the CUDA and TensorRT execution providers)
#     for `ort-cuda*` and `ort-trt*` (build sysnoise with `--features cuda,tensorrt`);
#   - the CUDA 13 user-space libraries (cuBLAS, cuDNN 9, cuFFT, cuRAND, cuSPARSE, NCCL, ...) at the
#     exact versions LibTorch 2.11.0's wheel pins, for `torch-cuda` (`--features torch`) and ORT;
# into <cache>/gpu-cu13 (~4 GB; idempotent), then checks that every library the ORT providers and
# libtorch_cuda.so link resolves, except libcuda.so.1 (the driver's, from the host).
#
# TensorRT is not in the registries: PyPI's tensorrt / tensorrt-cu13-libs are source stubs that
# download the libraries from NVIDIA's own index at install time, which sysnoise's scripts never
# do (Debian has no TensorRT either). For `ort-trt*`, point SYSNOISE_TENSORRT_LIB_DIR at an
# existing TensorRT 10 install (the directory with libnvinfer.so.10 and libnvonnxparser.so.10);
# without it, the TensorRT runtimes report themselves unavailable with that reason.
#
# Prints (on stdout) the environment to run with, e.g.
#   export $(scripts/setup_gpu.sh)
#   cargo run --release --features torch,cuda,tensorrt -- compare builtin:cnn --runtimes ort,ort-cuda,torch,torch-cuda
#
# Options: --check  only verify an existing install (no download).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '\033[1msysnoise setup-gpu:\033[0m %s\n' "$*" >&2; }

ort_gpu_version=1.31.1

check_only=false
[ "${1:-}" = "--check" ] && check_only=true

python="$root/.venv/bin/python"
[ -x "$python" ] || { say "no Python environment at $root/.venv: run scripts/setup.sh first"; exit 2; }

cache="${SYSNOISE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sysnoise}"
dir="$cache/gpu-cu13"

# LibTorch's wheel METADATA is the source of the CUDA pins (one CUDA stack for ORT and LibTorch).
torch_version="$(sed -n 's/^torch_version=//p' "$root/scripts/setup_libtorch.sh")"
if $check_only; then
  libtorch="$cache/libtorch-$torch_version/torch"
else
  libtorch_env="$("$root/scripts/setup_libtorch.sh")"
  libtorch="${libtorch_env#LIBTORCH=}"
  libtorch="${libtorch%% *}"
fi
metadata="$(dirname "$libtorch")/torch-$torch_version.dist-info/METADATA"
[ -f "$metadata" ] || { say "no $metadata: run scripts/setup_libtorch.sh"; exit 1; }

if [ ! -f "$dir/.complete" ]; then
  $check_only && { say "nothing installed at $dir"; exit 1; }
  # `Requires-Dist: cuda-toolkit[cublas,...]==13.0.2; platform_system == "Linux"` and the nvidia-* pins.
  mapfile -t cuda_requirements < <(
    sed -n 's/^Requires-Dist: \(\(cuda-toolkit\|nvidia-[a-z0-9-]*\)[^;]*\);.*Linux.*/\1/p' "$metadata"
  )
  [ "${#cuda_requirements[@]}" -ge 2 ] || { say "found no CUDA requirements in $metadata"; exit 1; }
  say "installing onnxruntime-gpu==$ort_gpu_version and ${cuda_requirements[*]} into $dir (~4 GB)"
  rm -rf "$dir.partial"
  mkdir -p "$dir.partial"
  pip_install() {
    "$python" -m pip install --quiet --disable-pip-version-check --no-compile --only-binary=:all: "$@"
  }
  # ORT alone (its Python dependencies are not needed: only the shared libraries are used).
  pip_install --no-deps --target "$dir.partial/ort" "onnxruntime-gpu==$ort_gpu_version"
  # The CUDA stack with its (nvidia-*) dependencies, resolved together.
  pip_install --target "$dir.partial/cuda" "${cuda_requirements[@]}"
  rm -rf "$dir"
  mv "$dir.partial" "$dir"
  touch "$dir/.complete"
fi

ort_lib="$(ls "$dir"/ort/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"
library_path="$(find "$dir/cuda" -name 'lib*.so*' -printf '%h\n' | sort -u | paste -sd: -)"
checked=("$dir/ort/onnxruntime/capi/libonnxruntime_providers_cuda.so" "$libtorch/lib/libtorch_cuda.so")
if [ -n "${SYSNOISE_TENSORRT_LIB_DIR:-}" ]; then
  [ -f "$SYSNOISE_TENSORRT_LIB_DIR/libnvinfer.so.10" ] || {
    say "SYSNOISE_TENSORRT_LIB_DIR=$SYSNOISE_TENSORRT_LIB_DIR has no libnvinfer.so.10 (TensorRT 10 is what onnxruntime-gpu $ort_gpu_version links)"
    exit 1
  }
  library_path="$library_path:$SYSNOISE_TENSORRT_LIB_DIR"
  checked+=("$dir/ort/onnxruntime/capi/libonnxruntime_providers_tensorrt.so")
else
  say "no SYSNOISE_TENSORRT_LIB_DIR: ort-trt* will be unavailable (TensorRT is not in the package registries)"
fi

# Every library the providers and libtorch_cuda.so need must resolve, except the driver's libcuda.so.1.
missing=0
for lib in "${checked[@]}"; do
  [ -f "$lib" ] || { say "missing $lib"; missing=1; continue; }
  unresolved="$(LD_LIBRARY_PATH="$library_path:$(dirname "$ort_lib"):$libtorch/lib" ldd "$lib" | awk '/not found/ {print $1}' | grep -v '^libcuda\.so\.1$' || true)"
  if [ -n "$unresolved" ]; then
    say "$(basename "$lib") cannot find: $(echo $unresolved)"
    missing=1
  fi
done
[ "$missing" = 0 ] || { say "the GPU libraries are incomplete (see above)"; exit 1; }
if [ ! -e /dev/nvidiactl ] && ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
  say "installed; this machine has no NVIDIA driver (libcuda.so.1), so the GPU runtimes will report themselves unavailable here"
fi
echo "ORT_DYLIB_PATH=$ort_lib LD_LIBRARY_PATH=$library_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
