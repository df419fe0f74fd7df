"""BM25 over passages, as compressed postings in numpy arrays, with rank-bm25's semantics.

rank-bm25's `BM25Okapi` is the reference: same IDF (including its floor of epsilon times the
average IDF for terms in more than half the passages), same term-frequency saturation, and the
same per-term order of additions, so scores match it bit for bit (tests/test_bm25.py compares
them). What differs is the work: rank-bm25 loops over every passage for every query term; here
only the passages in a term's postings list are touched, which is what lets one machine answer
over a million passages in about a millisecond.

Ties are ordered by passage position (document order); rank-bm25's own `get_top_n` reverses
them, which is why it is not the reference for ordering.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Bm25Postings"]

_FLUSH_TOKENS = 2_000_000  # tokens buffered before they are folded into postings


@dataclass
class Bm25Postings:
    terms: list[str]  # term id -> term
    vocabulary: dict[str, int]
    pointers: (
        np.ndarray
    )  # int64, len(terms) + 1: term t's postings are [pointers[t], pointers[t+1])
    passages: np.ndarray  # int32, passage positions, ascending within each term
    frequencies: np.ndarray  # int32, the term's count in that passage
    lengths: np.ndarray  # int64, tokens per passage
    idf: np.ndarray  # float64 per term id, rank-bm25's values
    average_length: float
    k1: float
    b: float

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
        vocabulary: dict[str, int] = {}
        lengths = array("q")
        token_terms, token_passages = array("i"), array("i")
        chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for position, tokens in enumerate(passages):
            lengths.append(len(tokens))
            token_terms.extend([vocabulary.setdefault(t, len(vocabulary)) for t in tokens])
            token_passages.extend([position] * len(tokens))
            if len(token_terms) >= _FLUSH_TOKENS:
                chunks.append(_fold(token_terms, token_passages))
                token_terms, token_passages = array("i"), array("i")
        chunks.append(_fold(token_terms, token_passages))
        terms_of = np.concatenate([c[0] for c in chunks])
        passages_of = np.concatenate([c[1] for c in chunks])
        counts = np.concatenate([c[2] for c in chunks])
        del chunks
        # Group by term; the stable sort keeps passages ascending within each term.
        order = np.argsort(terms_of, kind="stable")
        document_frequency = np.bincount(terms_of, minlength=len(vocabulary))
        pointers = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(document_frequency, out=pointers[1:])
        length_array = np.frombuffer(lengths, dtype=np.int64).copy()
        corpus_size = len(length_array)
        average_length = float(length_array.sum()) / corpus_size if corpus_size else 0.0
        return cls(
            terms=list(vocabulary),
            vocabulary=vocabulary,
            pointers=pointers,
            passages=passages_of[order],
            frequencies=counts[order],
            lengths=length_array,
            idf=_okapi_idf(document_frequency, corpus_size, epsilon),
            average_length=average_length,
            k1=k1,
            b=b,
        )

    def scores(self, query: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(passage positions, scores) of every passage sharing a term with the query, in
        position order. A repeated query term counts again, as in rank-bm25."""
        known = [self.vocabulary[t] for t in query if t in self.vocabulary]
        if not known:
            return np.empty(0, dtype=np.int32), np.empty(0)
        total = np.zeros(self.passage_count)
        touched = []
        k1, b, average = self.k1, self.b, self.average_length
        for t in known:
            start, end = self.pointers[t], self.pointers[t + 1]
            where = self.passages[start:end]
            frequency = self.frequencies[start:end].astype(np.int64)
            length = self.lengths[where]
            # Written exactly as rank-bm25 writes it, so the floating-point results agree.
            total[where] += self.idf[t] * (
                frequency * (k1 + 1) / (frequency + k1 * (1 - b + b * length / average))
            )
            touched.append(where)
        positions = np.unique(np.concatenate(touched))
        return positions, total[positions]

    def top(
        self, query: Sequence[str], limit: int, allowed: range | None = None
    ) -> list[tuple[int, float]]:
        """The best `limit` passages, best first; ties in position order."""
        positions, scores = self.scores(query)
        if allowed is not None and len(positions):
            keep = (positions >= allowed.start) & (positions < allowed.stop)
            positions, scores = positions[keep], scores[keep]
        if limit <= 0 or not len(positions):
            return []
        if len(positions) > 4 * limit:
            # Keep every passage scoring at least the limit-th best, ties included.
            threshold = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            keep = scores >= threshold
            positions, scores = positions[keep], scores[keep]
        order = np.argsort(-scores, kind="stable")[:limit]
        return [(int(positions[i]), float(scores[i])) for i in order]


def _fold(terms: array, passages: array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token-level (term, passage) pairs → unique pairs with counts, sorted by passage."""
    if not terms:
        empty = np.empty(0, dtype=np.int32)
        return empty, empty, empty
    term_ids = np.frombuffer(terms, dtype=np.int32).astype(np.int64)
    passage_ids = np.frombuffer(passages, dtype=np.int32).astype(np.int64)
    keys, counts = np.unique((passage_ids << 32) | term_ids, return_counts=True)
    return (
        (keys & 0xFFFFFFFF).astype(np.int32),
        (keys >> 32).astype(np.int32),
        counts.astype(np.int32),
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
