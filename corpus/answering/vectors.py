"""Static word vectors for soft matching: "boss" is near "chief executive" though no word is shared.

The `wordllama` package ships, as files inside its wheel, a 32,000 × 256 token embedding matrix
(safetensors) and the byte-pair tokenizer it was trained with. Those files are read from the
package's own directory (its code, which can fetch models from a hub, is never imported): the
matrix memory-mapped, the tokenizer's merges applied word by word here. A text's vector is the
mean of its tokens' vectors, normalised, which is how WordLlama itself embeds text.

Without the package (or with unreadable files) there are no vectors: `text_vectors` returns
None, answers rank on words alone, and one warning says so.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import json
import logging
import re
import threading
from pathlib import Path

import numpy as np

__all__ = ["WordVectors", "closest_similarities", "text_vectors", "word_vectors"]

log = logging.getLogger(__name__)

_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"


class WordVectors:
    """The embedding matrix, memory-mapped, and the tokenizer's byte-pair merges, applied word
    by word (each word once per process)."""

    def __init__(self, directory: Path) -> None:
        self.matrix = _mapped_matrix(directory / _WEIGHTS)
        config = json.loads((directory / _TOKENIZER).read_text(encoding="utf-8"))
        model = config["model"]
        if model.get("type") != "BPE":
            raise ValueError(f"expected a BPE tokenizer, found {model.get('type')!r}")
        self.vocabulary: dict[str, int] = model["vocab"]
        merges = model["merges"]
        # Merges are "left right" strings (or pairs, in newer tokenizer files); kept by pair,
        # so that merging a word builds no strings to look them up.
        self.ranks: dict[tuple[str, str], int] = {}
        for rank, merge in enumerate(merges):
            pair = tuple(merge.split(" ")) if isinstance(merge, str) else tuple(merge)
            if len(pair) == 2:
                self.ranks.setdefault(pair, rank)
        self.word_ids = functools.lru_cache(maxsize=100_000)(self._word_ids)
        # Candidate sentences recur from question to question: their vectors are kept.
        self.text_vector = functools.lru_cache(maxsize=20_000)(self._text_vector)
        # Word vectors made so far, a row each (a vector is 1 kB), found by word; and the
        # rows of the word groups (sentences) asked about.
        self._row_of: dict[str, int] = {}
        self._group_rows: dict[tuple[str, ...], np.ndarray] = {}
        self._rows = np.zeros((1024, self.matrix.shape[1]), dtype=np.float32)
        self._lock = threading.Lock()

    def _word_ids(self, word: str) -> tuple[int, ...]:
        """The token ids of one word as the tokenizer splits it ("▁" marks a word start)."""
        symbols = list("▁" + word)
        ranks = self.ranks
        while len(symbols) > 1:
            # The pair of lowest rank, the first of them on a tie (this runs for every new
            # word of every candidate sentence, so it is a plain loop).
            best, at = _NEVER, -1
            for i in range(len(symbols) - 1):
                rank = ranks.get((symbols[i], symbols[i + 1]), _NEVER)
                if rank < best:
                    best, at = rank, i
            if at < 0:
                break
            symbols[at : at + 2] = [symbols[at] + symbols[at + 1]]
        return tuple(self.vocabulary[s] for s in symbols if s in self.vocabulary)

    def _text_vector(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def closest(self, groups: list[tuple[str, ...]], words: list[str]) -> np.ndarray:
        """(len(groups), len(words)): each word's highest cosine with a word of each group
        (0 for an empty group). A group's rows are found once and kept, so a sentence that
        recurs costs one gather, and each distinct word is compared once."""
        closest = np.zeros((len(groups), len(words)), dtype=np.float32)
        if not words:
            return closest
        with self._lock:  # the bot answers from worker threads
            rows = self._rows_of_groups(groups, words)
            question = self._rows[rows[-1]]
            counts = np.array([len(r) for r in rows[:-1]], dtype=np.int64)
            filled = np.flatnonzero(counts)
            if not len(filled):
                return closest
            distinct, inverse = np.unique(np.concatenate(rows[:-1]), return_inverse=True)
            similarity = (self._rows[distinct] @ question.T)[inverse.reshape(-1)]
        starts = np.concatenate([[0], np.cumsum(counts[filled])[:-1]])
        closest[filled] = np.maximum.reduceat(similarity, starts, axis=0)
        return closest

    def _rows_of_groups(self, groups: list[tuple[str, ...]], words: list[str]) -> list[np.ndarray]:
        """The row numbers of each group's words, then of `words` (the last entry)."""
        fresh = [g for g in dict.fromkeys(groups) if g not in self._group_rows]
        new = [w for w in dict.fromkeys(itertools.chain(words, *fresh)) if w not in self._row_of]
        if (
            len(self._row_of) + len(new) > _KEPT_WORDS
            or len(self._group_rows) + len(fresh) > _KEPT_GROUPS
        ):
            # Emptied when full, so serving a big archive stays within tens of megabytes.
            self._row_of.clear()
            self._group_rows.clear()
            fresh = list(dict.fromkeys(groups))
            new = list(dict.fromkeys(itertools.chain(words, *fresh)))
        self._add_rows(new)
        for group in fresh:
            self._group_rows[group] = np.array([self._row_of[w] for w in group], dtype=np.int64)
        return [
            *(self._group_rows[g] for g in groups),
            np.array([self._row_of[w] for w in words], dtype=np.int64),
        ]

    def _add_rows(self, new: list[str]) -> None:
        """Each new word's unit vector (the normalised mean of its tokens' vectors)."""
        if not new:
            return
        start = len(self._row_of)
        needed = start + len(new)
        if needed > len(self._rows):
            grown = np.zeros((max(needed, 2 * len(self._rows)), self._rows.shape[1]), np.float32)
            grown[:start] = self._rows[:start]
            self._rows = grown
        self._rows[start:needed] = _unit_means(self.matrix, [self.word_ids(w) for w in new])
        self._row_of.update((w, start + i) for i, w in enumerate(new))

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimensions) unit vectors: each the mean of its word tokens' vectors
        (zero for a text without words)."""
        return _unit_means(
            self.matrix,
            [[i for word in _WORD.findall(text) for i in self.word_ids(word)] for text in texts],
        )


def _unit_means(matrix: np.ndarray, groups: list) -> np.ndarray:
    """A unit vector per group of token ids: the normalised mean of their rows (zero for an
    empty group). One gather from the matrix for all the groups."""
    counts = np.array([len(g) for g in groups], dtype=np.int64)
    out = np.zeros((len(groups), matrix.shape[1]), dtype=np.float32)
    if not counts.any():
        return out
    ids = np.fromiter((i for group in groups for i in group), dtype=np.int64)
    gathered = np.asarray(matrix[ids], dtype=np.float32)
    filled = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts[filled])[:-1]])
    sums = np.add.reduceat(gathered, starts, axis=0)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    out[filled] = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
    return out


_NEVER = 1 << 60
_KEPT_WORDS = 50_000
_KEPT_GROUPS = 20_000
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def _mapped_matrix(path: Path) -> np.ndarray:
    """The one tensor of a safetensors file, memory-mapped (8 bytes of header length, a JSON
    header, then the raw little-endian data)."""
    with path.open("rb") as handle:
        length = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(length))
    (name,) = [key for key in header if key != "__metadata__"]
    entry = header[name]
    dtype = {"F16": "<f2", "F32": "<f4"}[entry["dtype"]]
    start, _ = entry["data_offsets"]
    return np.memmap(
        path, dtype=dtype, mode="r", offset=8 + length + start, shape=tuple(entry["shape"])
    )


_lock = threading.Lock()
_loaded: list[WordVectors | None] = []


def word_vectors() -> WordVectors | None:
    """The installed vectors, loaded once per process (None, with one warning, without)."""
    if not _loaded:
        with _lock:
            if not _loaded:
                _loaded.append(_open())
    return _loaded[0]


def _open() -> WordVectors | None:
    try:
        spec = importlib.util.find_spec("wordllama")  # finds the package without running it
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        directory = Path(location)
        if (directory / _WEIGHTS).is_file() and (directory / _TOKENIZER).is_file():
            try:
                return WordVectors(directory)
            except (OSError, ValueError, KeyError, TypeError) as error:
                log.warning("The word vectors in %s could not be read (%s).", directory, error)
                return None
    log.warning(
        "Word vectors were not found (pip install wordllama): answers will match words only, "
        "not meanings."
    )
    return None


def closest_similarities(groups: list[tuple[str, ...]], words: list[str]) -> np.ndarray | None:
    """Each word's highest cosine with a word of each group (None without vectors)."""
    vectors = word_vectors()
    return vectors.closest(groups, words) if vectors is not None else None


def text_vectors(texts: list[str]) -> np.ndarray | None:
    """Unit vectors of the texts, each remembered for the next question that needs it."""
    vectors = word_vectors()
    if vectors is None:
        return None
    return np.stack([vectors.text_vector(text) for text in texts])
