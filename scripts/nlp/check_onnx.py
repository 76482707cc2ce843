#!/usr/bin/env python3
"""Run an exported ONNX on the torch reference batch saved by export_minilm.py; print max abs diff."""
import sys, numpy as np, onnxruntime as ort
model, ref = sys.argv[1], sys.argv[2]
r = np.load(ref)
so = ort.SessionOptions(); so.intra_op_num_threads = 1
s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
o = s.run(["sentence_embedding"], {"input_ids": r["input_ids"], "attention_mask": r["attention_mask"]})[0]
d = np.abs(o - r["sentence_embedding"])
print("ORT(%s) vs torch: max|d| = %.3g  mean|d| = %.3g  min cos = %.8f" % (
    ort.__version__, d.max(), d.mean(), (o * r["sentence_embedding"]).sum(1).min()))
if d.max() > 1e-4:
    sys.exit("the exported ONNX does not reproduce PyTorch (max |d| %.3g > 1e-4)" % d.max())
