#!/usr/bin/env python3
"""SysNoise Table-5-style precision noise on all-MiniLM-L6-v2 (sentence embeddings, ONNX).

Reference ("training system"): FP32 PyTorch embeddings (embed_torch.py -> ref .npy).
Systems: ORT FP32 (all graph optimisations / none), tract FP32, ORT FP16 (all float
initialisers, Constants and Casts switched to float16, output cast back to float32),
ORT INT8 dynamic (quantize_dynamic, QInt8 weights) and INT8 static (quantize_static QDQ,
MinMax, QUInt8 activations / QInt8 weights, calibrated on a disjoint WordNet set).

Metrics vs the reference, on query rows 0..N-1 against document rows N..2N-1:
  cos_mean / cos_min  per-sentence cosine to the reference embedding (all 2N rows)
  top1_agree          share of queries whose top-1 document equals the reference's
  top10_overlap       mean |top10 ∩ top10_ref| / 10
  spearman / kendall  mean per-query rank correlation of all document scores (tau-b)
  r@1 (gt)            share of queries whose top-1 document is their own definition
Timing: median ms per batch (32 x L), ORT 1 intra/inter-op thread, tract single thread.

Run with the ORT venv:  .venv/bin/python measure_precision.py --onnx out/minilm_l6_fp32.onnx \
    --texts out/texts --calib out/calib --ref out/ref_torch_fp32.npy --work out/variants
"""
import argparse
import collections
import copy
import json
import os
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort


# ---------------------------------------------------------------- variants
def to_fp16(model):
    """Whole-graph float16: float initialisers, Constant values and Cast targets -> fp16."""
    m = copy.deepcopy(model)
    g = m.graph
    for t in g.initializer:
        if t.data_type == TensorProto.FLOAT:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    for n in g.node:
        if n.op_type == "Constant":
            for at in n.attribute:
                if at.name == "value" and at.t.data_type == TensorProto.FLOAT:
                    at.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(at.t).astype(np.float16)))
        if n.op_type == "Cast":
            for at in n.attribute:
                if at.name == "to" and at.i == TensorProto.FLOAT:
                    at.i = TensorProto.FLOAT16
    for o in g.output:
        if o.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        inner = o.name + "_fp16"
        for n in g.node:
            n.output[:] = [inner if x == o.name else x for x in n.output]
            n.input[:] = [inner if x == o.name else x for x in n.input]
        g.node.append(helper.make_node("Cast", [inner], [o.name], to=TensorProto.FLOAT, name=o.name + "_to_fp32"))
    del g.value_info[:]
    onnx.checker.check_model(m)
    return m


class Calib:
    def __init__(self, ids, mask, batch):
        self.b = [(ids[i:i + batch], mask[i:i + batch]) for i in range(0, len(ids), batch)]
        self.i = 0

    def get_next(self):
        if self.i >= len(self.b):
            return None
        ids, mask = self.b[self.i]
        self.i += 1
        return {"input_ids": ids, "attention_mask": mask}

    def rewind(self):
        self.i = 0


def make_variants(src, work, calib_ids, calib_mask, calib_batch):
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)
    os.makedirs(work, exist_ok=True)
    out = {"fp32": src}
    p = os.path.join(work, "minilm_l6_fp16.onnx")
    onnx.save(to_fp16(onnx.load(src)), p)
    out["fp16"] = p
    p = os.path.join(work, "minilm_l6_int8_dynamic.onnx")
    quantize_dynamic(src, p, weight_type=QuantType.QInt8)
    out["int8_dynamic"] = p
    p = os.path.join(work, "minilm_l6_int8_static_qdq.onnx")
    quantize_static(src, p, Calib(calib_ids, calib_mask, calib_batch), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, per_channel=False)
    out["int8_static_qdq"] = p
    p = os.path.join(work, "minilm_l6_int8_static_qdq_pc.onnx")
    quantize_static(src, p, Calib(calib_ids, calib_mask, calib_batch), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, per_channel=True)
    out["int8_static_qdq_perchannel"] = p
    # MatMul-only QDQ (what the project's Rust quantiser, src/noise/quantise.rs, does: Conv/Gemm/MatMul);
    # keeps the masked attention scores (-1e4 bias) out of uint8, which ruins the default above
    p = os.path.join(work, "minilm_l6_int8_static_qdq_matmul.onnx")
    quantize_static(src, p, Calib(calib_ids, calib_mask, calib_batch), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, per_channel=False, op_types_to_quantize=["MatMul"])
    out["int8_static_qdq_matmul"] = p
    p = os.path.join(work, "minilm_l6_int8_static_qdq_matmul_pc.onnx")
    quantize_static(src, p, Calib(calib_ids, calib_mask, calib_batch), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, per_channel=True, op_types_to_quantize=["MatMul"])
    out["int8_static_qdq_matmul_perchannel"] = p
    return out


# ---------------------------------------------------------------- runners
def ort_runner(path, level):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = level
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return lambda ids, mask: s.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})[0]


def tract_runner(path, shape):
    # symbolic facts: the quantised models carry value_info with dim_param batch/seq, which
    # conflicts with concrete "32,24,i64" facts ("Failed analyse for node /Cast")
    import tract
    m = tract.onnx().load(path)
    m.set_input_fact(0, "batch,seq,i64")
    m.set_input_fact(1, "batch,seq,i64")
    r = m.into_model().into_runnable()
    return lambda ids, mask: r.run([ids, mask])[0].to_numpy()


def embed(run, ids, mask, batch, reps):
    e = np.concatenate([run(ids[i:i + batch], mask[i:i + batch]) for i in range(0, len(ids), batch)])
    times = []
    for _ in range(reps):
        for i in range(0, len(ids), batch):
            t = time.perf_counter()
            run(ids[i:i + batch], mask[i:i + batch])
            times.append(time.perf_counter() - t)
    return e.astype(np.float32), 1e3 * float(np.median(times)) if times else float("nan")


# ---------------------------------------------------------------- metrics
def ranks(x):
    r = np.empty_like(x, dtype=np.float64)
    o = np.argsort(x, kind="stable")
    r[o] = np.arange(len(x))
    return r  # no ties in practice (float scores)


def kendall_tau_b(a, b):
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    iu = np.triu_indices(len(a), 1)
    da, db = da[iu], db[iu]
    n0 = len(da)
    return float((da * db).sum() / np.sqrt((n0 - (da == 0).sum()) * (n0 - (db == 0).sum())))


def metrics(e, ref, n):
    nrm = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    e, ref = nrm(e.astype(np.float64)), nrm(ref.astype(np.float64))
    cos = (e * ref).sum(1)
    S, R = e[:n] @ e[n:].T, ref[:n] @ ref[n:].T
    top1 = (S.argmax(1) == R.argmax(1)).mean()
    t10 = np.mean([len(set(np.argsort(-S[i])[:10]) & set(np.argsort(-R[i])[:10])) / 10 for i in range(n)])
    sp = np.mean([np.corrcoef(ranks(S[i]), ranks(R[i]))[0, 1] for i in range(n)])
    kt = np.mean([kendall_tau_b(S[i], R[i]) for i in range(n)])
    return {"cos_mean": float(cos.mean()), "cos_min": float(cos.min()),
            "max_abs": float(np.abs(e - ref).max()),
            "argmax_ties_ref": int(sum((R[i] == R[i].max()).sum() > 1 for i in range(n))),
            "top1_agree": float(top1), "top10_overlap": float(t10),
            "spearman": float(sp), "kendall": float(kt),
            "r@1_gt": float((S.argmax(1) == np.arange(n)).mean()),
            "r@10_gt": float(np.mean([i in np.argsort(-S[i])[:10] for i in range(n)]))}


def op_hist(path):
    m = onnx.load(path)
    return dict(collections.Counter(n.op_type for n in m.graph.node).most_common())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    ids = np.load(os.path.join(a.texts, "input_ids.npy"))
    mask = np.load(os.path.join(a.texts, "attention_mask.npy"))
    n = len(np.load(os.path.join(a.texts, "pairs.npy")))
    ref = np.load(a.ref)
    cids = np.load(os.path.join(a.calib, "input_ids.npy"))
    cmask = np.load(os.path.join(a.calib, "attention_mask.npy"))
    v = make_variants(a.onnx, a.work, cids, cmask, a.batch)

    ALL, NONE = ort.GraphOptimizationLevel.ORT_ENABLE_ALL, ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    systems = [("torch fp32 (reference)", None, None),
               ("ort fp32 O-all", v["fp32"], lambda p: ort_runner(p, ALL)),
               ("ort fp32 O0", v["fp32"], lambda p: ort_runner(p, NONE)),
               ("tract fp32", v["fp32"], lambda p: tract_runner(p, (a.batch, ids.shape[1]))),
               ("ort fp16 O-all", v["fp16"], lambda p: ort_runner(p, ALL)),
               ("ort fp16 O0", v["fp16"], lambda p: ort_runner(p, NONE)),
               ("ort int8 dynamic O-all", v["int8_dynamic"], lambda p: ort_runner(p, ALL)),
               ("ort int8 static QDQ O-all", v["int8_static_qdq"], lambda p: ort_runner(p, ALL)),
               ("ort int8 static QDQ O0", v["int8_static_qdq"], lambda p: ort_runner(p, NONE)),
               ("ort int8 static QDQ per-ch O-all", v["int8_static_qdq_perchannel"], lambda p: ort_runner(p, ALL)),
               ("ort int8 static QDQ MatMul-only O-all", v["int8_static_qdq_matmul"], lambda p: ort_runner(p, ALL)),
               ("ort int8 static QDQ MatMul-only O0", v["int8_static_qdq_matmul"], lambda p: ort_runner(p, NONE)),
               ("ort int8 static QDQ MatMul-only per-ch O-all", v["int8_static_qdq_matmul_perchannel"], lambda p: ort_runner(p, ALL)),
               ("tract fp16", v["fp16"], lambda p: tract_runner(p, (a.batch, ids.shape[1]))),
               ("tract int8 dynamic", v["int8_dynamic"], lambda p: tract_runner(p, (a.batch, ids.shape[1]))),
               ("tract int8 static QDQ", v["int8_static_qdq"], lambda p: tract_runner(p, (a.batch, ids.shape[1]))),
               ("tract int8 static QDQ MatMul-only", v["int8_static_qdq_matmul"], lambda p: tract_runner(p, (a.batch, ids.shape[1])))]
    rows = []
    for name, path, mk in systems:
        if path is None:
            r = metrics(ref, ref, n)
            r.update(name=name, ms_per_batch=float("nan"), bytes=None)
            rows.append(r)
            continue
        try:
            e, ms = embed(mk(path), ids, mask, a.batch, a.reps)
        except Exception as ex:  # a runtime refusing a variant is a result too
            rows.append({"name": name, "error": str(ex).splitlines()[0][:160]})
            print(name, "ERROR", rows[-1]["error"])
            continue
        np.save(os.path.join(a.work, "emb_" + name.replace(" ", "_").replace("/", "") + ".npy"), e)
        r = metrics(e, ref, n)
        r.update(name=name, ms_per_batch=ms, bytes=os.path.getsize(path), nan=int(np.isnan(e).sum()))
        rows.append(r)
        print(name, json.dumps({k: (round(x, 6) if isinstance(x, float) else x) for k, x in r.items()}), flush=True)

    hdr = ("system", "MB", "ms/batch", "cos_mean", "cos_min", "top1_agree", "top10_ovl", "spearman", "kendall", "r@1(gt)", "r@10(gt)")
    print("\n| " + " | ".join(hdr) + " |\n|" + "---|" * len(hdr))
    for r in rows:
        if "error" in r:
            print(f"| {r['name']} | error: {r['error']} |")
            continue
        mb = "" if r["bytes"] is None else f"{r['bytes'] / 1e6:.1f}"
        print(f"| {r['name']} | {mb} | {r['ms_per_batch']:.1f} | {r['cos_mean']:.6f} | {r['cos_min']:.6f} | "
              f"{r['top1_agree']:.4f} | {r['top10_overlap']:.4f} | {r['spearman']:.5f} | {r['kendall']:.5f} | {r['r@1_gt']:.4f} | {r['r@10_gt']:.4f} |")
    hists = {k: op_hist(p) for k, p in v.items()}
    for k, h in hists.items():
        print(k, sum(h.values()), "nodes:", h)
    if a.json:
        json.dump({"rows": rows, "op_hist": hists, "n_queries": n, "seq_len": int(ids.shape[1]),
                   "batch": a.batch, "ort": ort.__version__, "onnx": onnx.__version__}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
