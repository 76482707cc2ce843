#!/usr/bin/env python3
"""FP32 PyTorch ("training system") sentence embeddings for a prepared text set."""
import argparse, json, os, sys
import numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_minilm import MiniLMEncoder, load_safetensors
ap = argparse.ArgumentParser()
ap.add_argument("--model-dir", required=True); ap.add_argument("--texts", required=True)
ap.add_argument("--out", required=True); ap.add_argument("--batch", type=int, default=32)
a = ap.parse_args()
torch.set_num_threads(1)
cfg = json.load(open(os.path.join(a.model_dir, "config.json")))
m = MiniLMEncoder(cfg).load(load_safetensors(os.path.join(a.model_dir, "model.safetensors"))).eval()
ids = np.load(os.path.join(a.texts, "input_ids.npy")); mask = np.load(os.path.join(a.texts, "attention_mask.npy"))
with torch.no_grad():
    e = np.concatenate([m(torch.from_numpy(ids[i:i + a.batch]), torch.from_numpy(mask[i:i + a.batch])).numpy()
                        for i in range(0, len(ids), a.batch)])
np.save(a.out, e); print(a.out, e.shape, e.dtype)
