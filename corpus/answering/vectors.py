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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    import quotebot_vectors as _compiled
except ImportError:  # built without a C compiler: the Python paths answer alike
    _compiled = None

__all__ = ["WordVectors", "closest_similarities", "text_vectors", "word_vectors"]

log = logging.getLogger(__name__)

_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"


class WordVectors:
    """The embedding matrix, memory-mapped, and the tokenizer's byte-pair merges, applied to
    each word once per process (all of a question's new words in one compiled call where the
    extension is built)."""

    def __init__(self, directory: Path) -> None:
        self.matrix = _mapped_matrix(directory / _WEIGHTS)
        config = json.loads((directory / _TOKENIZER).read_text(encoding="utf-8"))
        model = config["model"]
        if model.get("type") != "BPE":
            raise ValueError(f"expected a BPE tokenizer, found {model.get('type')!r}")
        self.vocabulary: dict[str, int] = model["vocab"]
        self.merges = _pairs(model["merges"])
        self._merge_table = _MergeTable(self.vocabulary, self.merges) if _compiled else None
        # Every word met so far has a row (a vector is 1 kB), found by word: its unit vector
        # (the normalised sum of its tokens' vectors) and that sum's length, so that a text's
        # vector, the normalised sum of all its tokens' vectors, is a weighted sum of rows.
        # The rows of word groups (candidate sentences' content words) are kept too.
        self._row_of: dict[str, int] = {}
        self._group_rows: dict[tuple[str, ...], np.ndarray] = {}
        self._rows = np.zeros((1024, self.matrix.shape[1]), dtype=np.float32)
        self._lengths = np.zeros(1024, dtype=np.float32)
        self._text_vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def word_ids(self, word: str) -> tuple[int, ...]:
        """The token ids of one word as the tokenizer splits it ("▁" marks a word start)."""
        return self.split([word])[0]

    def split(self, words: list[str], *, compiled: bool = True) -> list[tuple[int, ...]]:
        """Each word's token ids (`compiled=False` takes the Python loop, for tests)."""
        ids, counts = self._split_flat(words, compiled=compiled)
        bounds = np.cumsum(counts).tolist()
        flat = ids.tolist()
        return [tuple(flat[end - n : end]) for n, end in zip(counts.tolist(), bounds, strict=True)]

    def _split_flat(
        self, words: list[str], *, compiled: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """The words' token ids one word after another, and how many each word has: merged in
        one compiled call (csrc/quotebot_vectors.c) where the extension is built, else by the
        Python loop."""
        if compiled and self._merge_table is not None:
            return self._merge_table.split(words)
        groups = [self._merge_in_python(word) for word in words]
        counts = np.array([len(g) for g in groups], dtype=np.int64)
        ids = np.fromiter(itertools.chain(*groups), dtype=np.int64, count=counts.sum())
        return ids, counts

    @functools.cached_property
    def ranks(self) -> dict[tuple[str, str], int]:
        """Each merge's rank by pair (the first, if a pair repeats), for the Python loop."""
        ranks: dict[tuple[str, str], int] = {}
        merges = self.merges
        pairs = zip(merges.lefts, merges.rights, strict=True)
        for pair, rank in zip(pairs, merges.ranks.tolist(), strict=True):
            ranks.setdefault(pair, rank)
        return ranks

    def _merge_in_python(self, word: str) -> tuple[int, ...]:
        symbols = list("▁" + word)
        ranks = self.ranks
        while len(symbols) > 1:
            # The pair of lowest rank, the first of them on a tie.
            best, at = _NEVER, -1
            for i in range(len(symbols) - 1):
                rank = ranks.get((symbols[i], symbols[i + 1]), _NEVER)
                if rank < best:
                    best, at = rank, i
            if at < 0:
                break
            symbols[at : at + 2] = [symbols[at] + symbols[at + 1]]
        return tuple(self.vocabulary[s] for s in symbols if s in self.vocabulary)

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

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimensions) unit vectors, each the normalised mean of its words' tokens'
        vectors (zero for a text without words). Texts seen before are remembered (candidate
        sentences recur from question to question); the others are made together, in one
        weighted sum of word rows."""
        kept = self._text_vectors
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in kept]
            if missing:
                if len(kept) + len(missing) > _KEPT_TEXTS:
                    kept.clear()  # emptied when full, as the word rows are
                kept.update(zip(missing, self._embed_rows(missing), strict=True))
            return np.stack([kept[t] for t in texts])

    def _embed_rows(self, texts: list[str]) -> np.ndarray:
        words = [_WORD.findall(text) for text in texts]
        counts = np.array([len(w) for w in words], dtype=np.int64)
        self._ensure_rows(list(dict.fromkeys(itertools.chain(*words))))
        row_of = self._row_of
        rows = np.fromiter(
            (row_of[w] for text in words for w in text), dtype=np.int64, count=counts.sum()
        )
        gathered = self._rows[rows] * self._lengths[rows, None]
        return _normalised(_group_sums(gathered, counts, self.matrix.shape[1]))

    def _rows_of_groups(self, groups: list[tuple[str, ...]], words: list[str]) -> list[np.ndarray]:
        """The row numbers of each group's words, then of `words` (the last entry)."""
        fresh = [g for g in dict.fromkeys(groups) if g not in self._group_rows]
        if self._ensure_rows(list(dict.fromkeys(itertools.chain(words, *fresh)))):
            fresh = list(dict.fromkeys(groups))  # the kept groups went with the rows
            self._ensure_rows(list(dict.fromkeys(itertools.chain(*fresh))))
        if len(self._group_rows) + len(fresh) > _KEPT_GROUPS:
            self._group_rows.clear()
            fresh = list(dict.fromkeys(groups))
        row_of = self._row_of
        for group in fresh:
            self._group_rows[group] = np.array([row_of[w] for w in group], dtype=np.int64)
        return [
            *(self._group_rows[g] for g in groups),
            np.array([row_of[w] for w in words], dtype=np.int64),
        ]

    def _ensure_rows(self, words: list[str]) -> bool:
        """Give each of these words a row; whether the rows were emptied first to make room
        (serving a big archive stays within tens of megabytes)."""
        new = [w for w in words if w not in self._row_of]
        emptied = len(self._row_of) + len(new) > _KEPT_WORDS
        if emptied:
            self._row_of.clear()
            self._group_rows.clear()
            new = words
        if new:
            self._add_rows(new)
        return emptied

    def _add_rows(self, new: list[str]) -> None:
        start = len(self._row_of)
        needed = start + len(new)
        if needed > len(self._rows):
            size = max(needed, 2 * len(self._rows))
            grown = np.zeros((size, self._rows.shape[1]), np.float32)
            grown[:start] = self._rows[:start]
            lengths = np.zeros(size, np.float32)
            lengths[:start] = self._lengths[:start]
            self._rows, self._lengths = grown, lengths
        sums = _token_sums(self.matrix, *self._split_flat(new))
        lengths = np.linalg.norm(sums, axis=1)
        self._rows[start:needed] = _normalised(sums, lengths[:, None])
        self._lengths[start:needed] = lengths
        self._row_of.update((w, start + i) for i, w in enumerate(new))


class _MergeTable:
    """The merges as arrays for the compiled splitter: every symbol (vocabulary token, merge
    part or merge result) gets one id, a vocabulary token its own; each merge is the key
    left id << 32 | right id, its rank and the merged symbol's id, in a hash table."""

    def __init__(self, vocabulary: dict[str, int], merges: _Pairs) -> None:
        self.symbol_of: dict[str, int] = dict(vocabulary)
        self.vocabulary_size = max(vocabulary.values(), default=-1) + 1
        self.in_vocabulary = np.zeros(self.vocabulary_size, dtype=bool)
        self.in_vocabulary[list(vocabulary.values())] = True
        # A merge's rank is its position; the table keeps the first of a repeated pair.
        lefts, rights = merges.lefts, merges.rights
        # Nearly every part and result is a vocabulary token: looked up in bulk (this runs
        # in every process that answers), and only the few others (-1) numbered one by one.
        ids = [
            np.fromiter(map(self.symbol_of.get, column, itertools.repeat(-1)), np.int64)
            for column in (lefts, rights, list(map(str.__add__, lefts, rights)))
        ]
        for column, symbol_at in zip(
            ids,
            (lefts.__getitem__, rights.__getitem__, lambda i: lefts[i] + rights[i]),
            strict=True,
        ):
            for i in np.flatnonzero(column < 0).tolist():
                column[i] = self._id(symbol_at(i))
        left_ids, right_ids, merged = ids
        self.table = _compiled.table(left_ids << 32 | right_ids, merges.ranks, merged)
        # Single characters' symbols by code point, for splitting words into characters.
        characters = {ord(c): i for c, i in self.symbol_of.items() if len(c) == 1}
        self.symbol_of_character = np.full(max(characters, default=0) + 1, -1, dtype=np.int64)
        self.symbol_of_character[list(characters)] = list(characters.values())

    def _id(self, symbol: str) -> int:
        return self.symbol_of.setdefault(symbol, len(self.symbol_of) + self.vocabulary_size)

    def split(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The words' token ids, one word after another, and how many each word has."""
        # Each character's symbol, looked up by code point in one step; -1 for a character
        # no merge or token knows: it never merges, and is dropped.
        codes = np.frombuffer("".join("▁" + w for w in words).encode("utf-32-le"), np.uint32)
        table = self.symbol_of_character
        symbols = np.where(codes < len(table), table[np.minimum(codes, len(table) - 1)], -1)
        ends = np.cumsum([len(word) + 1 for word in words], dtype=np.int64)
        merged, merged_ends = _compiled.merge(symbols, ends, self.table)
        ids = np.frombuffer(merged, dtype=np.int64)
        sizes = np.diff(np.frombuffer(merged_ends, dtype=np.int64), prepend=0)
        keep = (ids >= 0) & (ids < self.vocabulary_size)
        keep[keep] = self.in_vocabulary[ids[keep]]
        word_of = np.repeat(np.arange(len(words)), sizes)
        return ids[keep], np.bincount(word_of[keep], minlength=len(words))


@dataclass
class _Pairs:
    """The tokenizer's merges as columns: left and right parts, and each merge's rank (its
    position in the file), leaving out any entry that is not a pair."""

    lefts: list[str]
    rights: list[str]
    ranks: np.ndarray


_NO_SPACE = re.compile(r"^[^ \n]*$", re.MULTILINE)  # a merge line without its space


def _pairs(merges: list) -> _Pairs:
    """Merges are "left right" strings (or pairs, in newer tokenizer files), in rank order.
    The common case, every merge a string with one space, is split in one call."""
    try:
        joined = "\n".join(merges)
    except TypeError:  # some are pairs
        joined = ""
    one_space_each = joined.count(" ") == len(merges) and not _NO_SPACE.search(joined)
    if merges and one_space_each and joined.count("\n") == len(merges) - 1:
        parts = joined.replace("\n", " ").split(" ")
        return _Pairs(parts[0::2], parts[1::2], np.arange(len(merges), dtype=np.int64))
    split = [m.split(" ") if isinstance(m, str) else list(m) for m in merges]
    ranks = [rank for rank, pair in enumerate(split) if len(pair) == 2]
    return _Pairs(
        [split[r][0] for r in ranks], [split[r][1] for r in ranks], np.array(ranks, np.int64)
    )


def _token_sums(
    matrix: np.ndarray, ids: np.ndarray, counts: np.ndarray, *, compiled: bool = True
) -> np.ndarray:
    """The sum of each group's token rows (`counts[g]` ids each, one group after another;
    zero for an empty group), in float32: added in one compiled call where the extension is
    built, else by one gather and numpy's reduceat (`compiled=False`, for tests)."""
    if compiled and _compiled is not None:
        columns = matrix.shape[1]
        added = _compiled.sums(ids, counts, matrix, columns, matrix.dtype.itemsize)
        return np.frombuffer(added, dtype=np.float32).reshape(len(counts), columns)
    gathered = np.asarray(matrix[ids], dtype=np.float32)
    return _group_sums(gathered, counts, matrix.shape[1])


def _group_sums(rows: np.ndarray, counts: np.ndarray, columns: int) -> np.ndarray:
    """The sum of each group of consecutive rows, group g being the next counts[g] of them
    (zero for an empty group), in one reduceat."""
    out = np.zeros((len(counts), columns), dtype=np.float32)
    filled = np.flatnonzero(counts)
    if len(filled):
        starts = np.concatenate([[0], np.cumsum(counts[filled])[:-1]])
        out[filled] = np.add.reduceat(rows, starts, axis=0)
    return out


def _normalised(vectors: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Each row divided by its length (rows of length 0 stay zero)."""
    if lengths is None:
        lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, lengths, out=np.zeros_like(vectors), where=lengths > 0)


_NEVER = 1 << 60
_KEPT_WORDS = 50_000
_KEPT_GROUPS = 20_000
_KEPT_TEXTS = 20_000  # 1 kB a vector
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
    """Unit vectors of the texts (None without vectors)."""
    vectors = word_vectors()
    return vectors.embed(texts) if vectors is not None else None
