#!/usr/bin/env python3
"""Runtime-swap noise: the same ONNX on two runtimes, one as the other's reference (embeddings saved by measure_precision.py)."""
import sys, os, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure_precision import metrics
w, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 256
E = lambda k: np.load(os.path.join(w, "emb_" + k + ".npy"))
pairs = [("ort_fp32_O-all", "ort_fp32_O0"), ("ort_fp32_O-all", "tract_fp32"),
         ("ort_fp16_O-all", "ort_fp16_O0"), ("ort_fp16_O-all", "tract_fp16"),
         ("ort_int8_dynamic_O-all", "tract_int8_dynamic"),
         ("ort_int8_static_QDQ_O-all", "ort_int8_static_QDQ_O0"), ("ort_int8_static_QDQ_O-all", "tract_int8_static_QDQ"),
         ("ort_int8_static_QDQ_MatMul-only_O-all", "ort_int8_static_QDQ_MatMul-only_O0"),
         ("ort_int8_static_QDQ_MatMul-only_O-all", "tract_int8_static_QDQ_MatMul-only")]
print("| A (reference) | B | max_abs | cos_mean | cos_min | top1_agree | top10_ovl | spearman | kendall |\n|---|---|---|---|---|---|---|---|---|")
for a, b in pairs:
    r = metrics(E(b), E(a), n)
    print(f"| {a} | {b} | {r['max_abs']:.3g} | {r['cos_mean']:.6f} | {r['cos_min']:.6f} | {r['top1_agree']:.4f} | {r['top10_overlap']:.4f} | {r['spearman']:.5f} | {r['kendall']:.5f} |")
