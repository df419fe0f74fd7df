"""BM25 over passages, as compressed postings in numpy arrays, with rank-bm25's semantics.

rank-bm25's `BM25Okapi` is the reference: same IDF (including its floor of epsilon times the
average IDF for terms in more than half the passages), same term-frequency saturation, and the
same per-term order of additions, so scores match it bit for bit (tests/test_bm25.py compares
them). What differs is the work: rank-bm25 loops over every passage for every query term; here
only the passages in a term's postings list are touched, which is what lets one machine answer
over a million passages in about a millisecond.

Ties are ordered by passage position (document order); rank-bm25's own `get_top_n` reverses
them, which is why it is not the reference for ordering.

`top` runs compiled where `pip install .` could build csrc/quotebot_bm25.c: a passage at a
time, with exact dynamic pruning (MaxScore) over each term's largest part of a score, worked
out once with the postings (`bounds`). Without the extension, the numpy path below gives the
same results; tests/test_bm25.py checks both against rank-bm25.
"""

from __future__ import annotations

import itertools
import math
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..arrays import TermCounts, sorted_unique
from .spill import Spill, release_pages

try:
    import quotebot_bm25 as _compiled
except ImportError:  # built without a C compiler: the numpy path answers alike
    _compiled = None

__all__ = ["Bm25Postings", "FoldedChunks", "PostingChunk", "fold_passages"]


@dataclass
class Bm25Postings:
    terms: list[str]  # term id -> term
    vocabulary: dict[str, int]
    pointers: (
        np.ndarray
    )  # int64, len(terms) + 1: term t's postings are [pointers[t], pointers[t+1])
    passages: np.ndarray  # int32, passage positions, ascending within each term
    frequencies: np.ndarray  # uint16 (int32 if a count needs it): the term's count there
    lengths: np.ndarray  # int64, tokens per passage
    idf: np.ndarray  # float64 per term id, rank-bm25's values
    average_length: float
    k1: float
    b: float
    # Each term's largest part of a score, for the compiled pass's pruning (None until known).
    bounds: np.ndarray | None = None
    # Per-thread scratch arrays for scoring, so a query touches only its own postings and
    # concurrent queries (the bot answers in worker threads) never share one. Not pickled.
    _scratch: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_scratch"]
        state.pop("_saturation_cache", None)  # derived; made again on opening
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._scratch = threading.local()
        self._saturation()  # here rather than in the first question's time

    @property
    def passage_count(self) -> int:
        return len(self.lengths)

    def document_frequency(self, term: str) -> int:
        t = self.vocabulary.get(term)
        return 0 if t is None else int(self.pointers[t + 1] - self.pointers[t])

    @classmethod
    def build(
        cls, passages: Iterable[Sequence[str]], *, k1: float, b: float, epsilon: float
    ) -> Bm25Postings:
        """Postings for these passages' tokens. Memory stays near the size of the result:
        passages are folded into compact (term, passage, count) chunks as they stream in, and
        the chunks are then placed term by term into the final arrays and dropped."""
        vocabulary: dict[str, int] = {}
        known = vocabulary.__getitem__
        lengths = array("q")
        batch = _Batch()
        chunks: list[PostingChunk] = []
        for tokens in passages:
            try:
                ids = list(map(known, tokens))  # the common case: every word seen before
            except KeyError:
                ids = [vocabulary.setdefault(t, len(vocabulary)) for t in tokens]
            lengths.append(len(ids))
            batch.add(ids)
            if batch.full():
                chunks.append(batch.fold(len(lengths) - batch.count))
                batch = _Batch()
        chunks.append(batch.fold(len(lengths) - batch.count))
        return cls.from_chunks(
            chunks,
            np.frombuffer(lengths, dtype=np.int64).copy(),
            terms=list(vocabulary),
            vocabulary=vocabulary,
            k1=k1,
            b=b,
            epsilon=epsilon,
        )

    @classmethod
    def from_chunks(
        cls,
        chunks: FoldedChunks | list[PostingChunk],
        lengths: np.ndarray,
        *,
        terms: list[str],
        vocabulary: dict[str, int],
        k1: float,
        b: float,
        epsilon: float,
    ) -> Bm25Postings:
        """Postings from chunks folded beforehand (`fold_passages`), in passage order, their
        term ids numbered as `terms`. Building an index folds each batch of documents as it is
        read, in worker processes when there are many (corpus/indexing/analysis.py).

        The chunks are placed term by term into the final arrays. From a `FoldedChunks` kept
        in a file, that is done a range of terms at a time (each range's postings are made in
        memory, then appended to a file of their own), so that memory holds one range, never
        the whole postings twice over; chunks in memory are dropped as they are placed."""
        if isinstance(chunks, list):
            folded = FoldedChunks()
            for chunk in chunks:
                folded.add(chunk)
            chunks.clear()
            chunks = folded
        corpus_size = len(lengths)
        document_frequency = chunks.document_frequency(len(terms))
        pointers = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(document_frequency, out=pointers[1:])
        postings = cls(
            terms=terms,
            vocabulary=vocabulary,
            pointers=pointers,
            passages=np.zeros(0, dtype=np.int32),
            frequencies=np.zeros(0, dtype=np.uint16),
            lengths=lengths,
            idf=_okapi_idf(document_frequency, corpus_size, epsilon),
            average_length=float(lengths.sum()) / corpus_size if corpus_size else 0.0,
            k1=k1,
            b=b,
        )
        frequency_type = np.int32 if chunks.wide else np.uint16
        all_passages, all_frequencies = (
            Spill(np.int32, chunks.spill_to),
            Spill(frequency_type, chunks.spill_to),
        )
        bounds = np.empty(len(terms)) if _compiled is not None else None
        for low, high in chunks.term_ranges(pointers):
            base = int(pointers[low])
            size = int(pointers[high]) - base
            passages = np.empty(size, dtype=np.int32)
            frequencies = np.empty(size, dtype=frequency_type)
            cursor = pointers[low:high] - base
            for chunk in chunks.read(low, high):
                chunk.place(cursor, passages, frequencies)
            if bounds is not None:  # saved with the index, not made per question
                bounds[low:high] = _term_bounds(
                    postings, pointers[low : high + 1] - base, passages, frequencies, low, high
                )
            all_passages.append(passages)
            all_frequencies.append(frequencies)
        postings.passages, postings.frequencies = all_passages.finish(), all_frequencies.finish()
        postings.bounds = bounds
        return postings

    def scores(self, query: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(passage positions, scores) of every passage sharing a term with the query, in
        position order. A repeated query term counts again, as in rank-bm25."""
        total, touched = self._accumulate(query)
        if touched is None:
            return np.empty(0, dtype=np.int32), np.empty(0)
        positions = sorted_unique(touched)
        scores = total[positions]  # a copy: fancy indexing
        total[touched] = 0.0  # leave the scratch array clean for the next query
        return positions, scores

    def top(
        self,
        query: Sequence[str],
        limit: int,
        allowed: range | None = None,
        *,
        compiled: bool = True,
    ) -> list[tuple[int, float]]:
        """The best `limit` passages, best first; ties in position order. `compiled=False`
        takes the numpy path even where the extension is built (for the tests)."""
        if compiled and _compiled is not None:
            return self._top_compiled(query, limit, allowed)
        return self._top_numpy(query, limit, allowed)

    def _top_compiled(
        self, query: Sequence[str], limit: int, allowed: range | None
    ) -> list[tuple[int, float]]:
        vocabulary = self.vocabulary
        known = np.array([vocabulary[t] for t in query if t in vocabulary], dtype=np.int64)
        if not len(known) or limit <= 0:
            return []
        within = allowed if allowed is not None else range(self.passage_count)
        return _compiled.top(
            self.pointers,
            self.passages,
            self.frequencies,
            self.idf,
            self._saturation(),
            self.k1,
            known,
            self._bounds(),
            limit,
            within.start,
            within.stop,
        )

    def _bounds(self) -> np.ndarray:
        """Each term's largest part of a passage's score, which the compiled pass prunes by:
        worked out when the postings are built (`from_chunks`) or, for postings built
        without the extension, on the first question."""
        if self.bounds is None:
            with _bounds_lock:
                if self.bounds is None:
                    self.bounds = _term_bounds(self)
        return self.bounds

    def _top_numpy(
        self, query: Sequence[str], limit: int, allowed: range | None
    ) -> list[tuple[int, float]]:
        """Only the few best are sorted: a passage appears once per query term it contains, so
        the `limit × terms` best entries hold the `limit` best passages (and all their ties).
        """
        total, touched = self._accumulate(query)
        if touched is None:
            return []
        try:
            candidates = touched
            if allowed is not None:
                inside = (touched >= allowed.start) & (touched < allowed.stop)
                candidates = touched[inside]
            if limit <= 0 or not len(candidates):
                return []
            values = total[candidates]
            enough = limit * len(query)
            if len(candidates) > 4 * enough:
                threshold = np.partition(values, len(values) - enough)[len(values) - enough]
                keep = values >= threshold
                candidates = candidates[keep]
            positions = sorted_unique(candidates)
            scores = total[positions]
            order = np.argsort(-scores, kind="stable")[:limit]
            return [(int(positions[i]), float(scores[i])) for i in order]
        finally:
            total[touched] = 0.0

    def _accumulate(self, query: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Add each query term's BM25 part into the scratch totals; return them and every
        posting position touched (with repeats), or None if no term is known."""
        known = [self.vocabulary[t] for t in query if t in self.vocabulary]
        total = self._totals()
        if not known:
            return total, None
        touched = []
        k1 = self.k1
        saturation = self._saturation()
        for t in known:
            start, end = self.pointers[t], self.pointers[t + 1]
            where = self.passages[start:end]
            frequency = self.frequencies[start:end]  # small ints: exact in float64
            # rank-bm25's expression, operation for operation, so the floats agree exactly.
            total[where] += self.idf[t] * (frequency * (k1 + 1) / (frequency + saturation[where]))
            touched.append(where)
        return total, np.concatenate(touched) if len(touched) > 1 else touched[0]

    def _saturation(self) -> np.ndarray:
        """k1 * (1 - b + b * length / average length) per passage: the length part of
        rank-bm25's denominator, the same floats it computes, worked out once."""
        saturation = self.__dict__.get("_saturation_cache")
        if saturation is None:
            k1, b, average = self.k1, self.b, self.average_length
            saturation = k1 * (1 - b + b * self.lengths / average)
            self.__dict__["_saturation_cache"] = saturation
        return saturation

    def _totals(self) -> np.ndarray:
        scratch = self._scratch
        if getattr(scratch, "size", None) != self.passage_count:
            scratch.total = np.zeros(self.passage_count)
            scratch.size = self.passage_count
        return scratch.total


_BATCH_TOKENS = 2_000_000
_BATCH_PASSAGES = 65_535  # passage numbers within a chunk fit in 16 bits


class _Batch:
    """Token ids of consecutive passages, waiting to be folded into a chunk."""

    def __init__(self) -> None:
        self.terms = array("i")
        self.lengths = array("q")

    @property
    def count(self) -> int:
        return len(self.lengths)

    def add(self, ids: list[int]) -> None:
        self.terms.extend(ids)
        self.lengths.append(len(ids))

    def full(self) -> bool:
        return len(self.terms) >= _BATCH_TOKENS or len(self.lengths) >= _BATCH_PASSAGES

    def fold(self, first_passage: int) -> PostingChunk:
        return _fold_ids(
            np.frombuffer(self.terms, dtype=np.int32),
            np.frombuffer(self.lengths, dtype=np.int64),
            first_passage,
        )


def fold_passages(
    token_ids: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> list[PostingChunk]:
    """Passage i's tokens are `token_ids[starts[i]:ends[i]]`: its unique terms with counts,
    in chunks of at most _BATCH_PASSAGES passages, the first passage numbered 0."""
    lengths = (ends - starts).astype(np.int64)
    chunks = []
    for first in range(0, len(starts), _BATCH_PASSAGES):
        last = min(first + _BATCH_PASSAGES, len(starts))
        sizes = lengths[first:last]
        offsets = np.repeat(starts[first:last] - (np.cumsum(sizes) - sizes), sizes)
        ids = token_ids[offsets + np.arange(int(sizes.sum()))]
        chunks.append(_fold_ids(ids, sizes, first))
    return chunks


def _fold_ids(ids: np.ndarray, lengths: np.ndarray, first_passage: int) -> PostingChunk:
    """The term ids of consecutive passages (of these lengths) as unique (term, passage)
    pairs with counts, grouped by term, passages ascending within each term."""
    local = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    keys, counts = np.unique((ids.astype(np.int64) << 32) | local, return_counts=True)
    term_ids = (keys >> 32).astype(np.int32)
    narrow = counts.max(initial=0) <= np.iinfo(np.uint16).max
    passages_per_term = np.bincount(term_ids)
    present = np.flatnonzero(passages_per_term).astype(np.int32)
    return PostingChunk(
        terms=term_ids,
        local=(keys & 0xFFFFFFFF).astype(np.uint16),
        counts=counts.astype(np.uint16 if narrow else np.int32),
        first=first_passage,
        df_terms=present,
        df_counts=passages_per_term[present],
    )


@dataclass
class PostingChunk:
    """Unique (term, passage) pairs of a run of passages, with counts, grouped by term (each
    term's pairs together, passages ascending). Grouped, not sorted: renumbering the terms
    keeps the groups, so placing a chunk never needs a sort."""

    terms: np.ndarray
    local: np.ndarray  # passage number within the chunk
    counts: np.ndarray
    first: int  # position of the chunk's first passage
    df_terms: np.ndarray  # the distinct term ids in this chunk
    df_counts: np.ndarray  # and in how many of its passages each occurs

    def renumbered(self, term_ids: np.ndarray, first_offset: int) -> PostingChunk:
        """This chunk with term t as term_ids[t], and passages `first_offset` further on."""
        return PostingChunk(
            terms=term_ids[self.terms],
            local=self.local,
            counts=self.counts,
            first=self.first + first_offset,
            df_terms=term_ids[self.df_terms],
            df_counts=self.df_counts,
        )

    def place(self, cursor: np.ndarray, passages: np.ndarray, frequencies: np.ndarray) -> None:
        """Write this chunk's postings after those of earlier chunks, term by term; within a
        term, passages stay in ascending order."""
        terms = self.terms
        if not len(terms):
            return
        starts = np.flatnonzero(np.r_[True, terms[1:] != terms[:-1]])
        sizes = np.diff(np.r_[starts, len(terms)])
        rank = np.arange(len(terms)) - np.repeat(starts, sizes)
        destination = cursor[terms] + rank
        passages[destination] = self.local.astype(np.int32) + self.first
        frequencies[destination] = self.counts
        cursor[terms[starts]] += sizes


class FoldedChunks:
    """The chunks a build folds, in passage order, and the document frequencies they add up
    to; in memory, or appended to a file in `spill_to` as they come (a million passages make
    about 560 MB of them), to be read back a range of terms at a time."""

    # Postings placed at once when the chunks are in a file: about 200 MB of them.
    RANGE_POSTINGS = 32_000_000

    def __init__(self, spill_to: Path | None = None) -> None:
        self.spill_to = spill_to
        self.wide = False  # whether some count needs more than 16 bits
        self._frequency = TermCounts()
        self._in_memory: list[PostingChunk] = []
        self._file: Spill | None = Spill(np.uint8, spill_to) if spill_to is not None else None
        # (byte offset, postings, first passage, counts' type) of each chunk in the file.
        self._entries: list[tuple[int, int, int, np.dtype]] = []
        self._stored: np.ndarray | None = None

    def add(self, chunk: PostingChunk) -> None:
        self._frequency.add(chunk.df_terms, chunk.df_counts)
        self.wide |= chunk.counts.dtype != np.uint16
        if self.spill_to is None:
            self._in_memory.append(chunk)
            return
        assert self._file is not None, "chunks are added before they are read"
        self._entries.append((len(self._file), len(chunk.terms), chunk.first, chunk.counts.dtype))
        for column in (chunk.terms.astype(np.int32), chunk.local, chunk.counts):
            self._file.append(column.view(np.uint8))

    def document_frequency(self, term_count: int) -> np.ndarray:
        return self._frequency.of(term_count)

    def discard(self) -> None:
        """Give up a build: the chunks spilled so far go."""
        if self._file is not None:
            self._file.discard()

    def term_ranges(self, pointers: np.ndarray) -> list[tuple[int, int]]:
        """Consecutive ranges of term ids, each with about RANGE_POSTINGS postings (one range
        for chunks in memory, which are placed once, as they are dropped)."""
        terms = len(pointers) - 1
        if self.spill_to is None or pointers[-1] <= self.RANGE_POSTINGS:
            return [(0, terms)]
        ends = np.searchsorted(
            pointers, np.arange(self.RANGE_POSTINGS, int(pointers[-1]), self.RANGE_POSTINGS)
        )
        bounds = sorted({0, *ends.tolist(), terms})
        return list(itertools.pairwise(bounds))

    def read(self, low: int, high: int) -> Iterator[PostingChunk]:
        """Each chunk's postings of the terms low to high (all of them for chunks in memory,
        which are then dropped)."""
        if self.spill_to is None:
            chunks, self._in_memory = self._in_memory, []
            chunks.reverse()
            while chunks:
                yield chunks.pop()
            return
        if self._stored is None:
            assert self._file is not None
            self._stored, self._file = self._file.finish(), None
        for offset, size, first, counts_type in self._entries:
            terms = self._stored[offset : offset + 4 * size].view(np.int32)
            local = self._stored[offset + 4 * size : offset + 6 * size].view(np.uint16)
            counts_end = offset + 6 * size + counts_type.itemsize * size
            counts = self._stored[offset + 6 * size : counts_end].view(counts_type)
            inside = (terms >= low) & (terms < high)
            yield PostingChunk(
                terms=terms[inside] - low,
                local=local[inside],
                counts=counts[inside],
                first=first,
                df_terms=np.zeros(0, dtype=np.int32),
                df_counts=np.zeros(0, dtype=np.int64),
            )
            release_pages(self._stored)  # read again from the page cache for the next range


_bounds_lock = threading.Lock()


def _term_bounds(
    postings: Bm25Postings,
    pointers: np.ndarray | None = None,
    passages: np.ndarray | None = None,
    frequencies: np.ndarray | None = None,
    low: int = 0,
    high: int | None = None,
) -> np.ndarray | None:
    """Each term's largest part of a passage's score (None without the compiled extension,
    the only one that prunes by them): of every term, or of the terms low to high whose
    postings are given (`pointers` counted from the first of them)."""
    if _compiled is None:
        return None
    if pointers is None:
        pointers, passages, frequencies = postings.pointers, postings.passages, postings.frequencies
    return np.frombuffer(
        _compiled.bounds(
            pointers,
            passages,
            frequencies,
            postings.idf[low:high],
            postings._saturation(),
            postings.k1,
        ),
        dtype=np.float64,
    )


def _okapi_idf(document_frequency: np.ndarray, corpus_size: int, epsilon: float) -> np.ndarray:
    """rank-bm25 0.2.2's BM25Okapi._calc_idf, term by term in first-seen order (its dict
    order), so that the average, and hence the floor, is the same float."""
    idf = np.empty(len(document_frequency))
    idf_sum = 0.0
    negative = []
    for term, frequency in enumerate(document_frequency.tolist()):
        value = math.log(corpus_size - frequency + 0.5) - math.log(frequency + 0.5)
        idf[term] = value
        idf_sum += value
        if value < 0:
            negative.append(term)
    if len(idf):
        idf[negative] = epsilon * (idf_sum / len(idf))
    return idf
