"""Pure-Python BERT uncased WordPiece tokenizer (BasicTokenizer + WordpieceTokenizer).

Reads vocab.txt only; no third-party dependency.  Matches the HF `tokenizers`
BertWordPiece pipeline of all-MiniLM-L6-v2 (tokenizer.json: BertNormalizer with
lowercase + strip accents + clean text + CJK spacing, BertPreTokenizer,
WordPiece with "##" and max 100 chars/word, [CLS] x [SEP] post-processor);
prepare_texts.py checks that on every sentence when `tokenizers` is importable.
"""
import unicodedata


def _is_whitespace(c):
    if c in " \t\n\r":
        return True
    return unicodedata.category(c) == "Zs"


def _is_control(c):
    if c in "\t\n\r":
        return False
    return unicodedata.category(c) in ("Cc", "Cf")


def _is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class BertTokenizer:
    def __init__(self, vocab_path, max_len=256):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
        self.max_len = max_len
        self.cls, self.sep = self.vocab["[CLS]"], self.vocab["[SEP]"]
        self.unk, self.pad = self.vocab["[UNK]"], self.vocab["[PAD]"]

    def _normalize(self, text):
        out = []
        for c in text:
            cp = ord(c)
            if cp == 0 or cp == 0xFFFD or _is_control(c):
                continue
            if _is_whitespace(c):
                out.append(" ")
            elif _is_cjk(cp):
                out.append(" " + c + " ")
            else:
                out.append(c)
        text = "".join(out).lower()
        text = unicodedata.normalize("NFD", text)
        return "".join(c for c in text if unicodedata.category(c) != "Mn")

    def _pre_tokenize(self, text):
        words = []
        for w in text.split():
            cur = ""
            for c in w:
                if _is_punctuation(c):
                    if cur:
                        words.append(cur)
                    words.append(c)
                    cur = ""
                else:
                    cur += c
            if cur:
                words.append(cur)
        return words

    def _wordpiece(self, word):
        if len(word) > 100:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end, piece = len(word), None
            while start < end:
                s = word[start:end]
                if start > 0:
                    s = "##" + s
                if s in self.vocab:
                    piece = self.vocab[s]
                    break
                end -= 1
            if piece is None:
                return [self.unk]
            ids.append(piece)
            start = end
        return ids

    def encode(self, text):
        ids = []
        for w in self._pre_tokenize(self._normalize(text)):
            ids.extend(self._wordpiece(w))
        ids = ids[: self.max_len - 2]
        return [self.cls] + ids + [self.sep]
