"""Passage retrieval behind one small interface, so the engine can change with the corpus.

`PassageRetriever.top(query, limit, allowed)` returns the best passages (position, BM25 score),
best first, ties in position order, considering only passages that share a term with the query.
Two implementations give the same results (tests/test_bm25.py):

- `RankBm25Retriever`: rank-bm25's `BM25Okapi` itself, scoring only the candidate passages
  (`get_batch_scores`). The reference; used for small corpora, where it is fast enough.
- `PostingsRetriever`: the same formula over numpy postings (corpus/indexing/bm25.py); used from
  `LARGE_CORPUS` passages on, where rank-bm25 would take tens to hundreds of milliseconds.

A deployment that outgrows one machine would add a third, for example one that sends the query
to an OpenSearch or Elasticsearch index (BM25 is their default similarity) and maps the hits back
to passage positions. README.md ("Scale") describes how it plugs in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
from rank_bm25 import BM25Okapi

from ..models import IndexConfig
from .bm25 import Bm25Postings, FoldedChunks, fold_passages
from .tables import PassageTable, TokenTable

__all__ = [
    "LARGE_CORPUS",
    "PassageRetriever",
    "PostingsRetriever",
    "RankBm25Retriever",
    "build_retriever",
]

# From this many passages on, the numpy postings answer; below, rank-bm25 itself.
LARGE_CORPUS = 5_000


class PassageRetriever(Protocol):
    def top(
        self, query: Sequence[str], limit: int, allowed: range | None = None
    ) -> list[tuple[int, float]]: ...


class RankBm25Retriever:
    """rank-bm25's BM25Okapi, asked only about passages that share a term with the query."""

    def __init__(self, passage_tokens: list[list[str]], config: IndexConfig) -> None:
        self.model = BM25Okapi(passage_tokens, k1=config.k1, b=config.b, epsilon=config.epsilon)
        self.postings: dict[str, list[int]] = {}
        for position, tokens in enumerate(passage_tokens):
            for term in dict.fromkeys(tokens):
                self.postings.setdefault(term, []).append(position)

    def top(
        self, query: Sequence[str], limit: int, allowed: range | None = None
    ) -> list[tuple[int, float]]:
        candidates = sorted({p for t in set(query) for p in self.postings.get(t, ())})
        if allowed is not None:
            candidates = [p for p in candidates if p in allowed]
        if not candidates or limit <= 0:
            return []
        scores = self.model.get_batch_scores(list(query), candidates)
        order = np.argsort(-np.asarray(scores), kind="stable")[:limit]
        return [(candidates[i], float(scores[i])) for i in order]


class PostingsRetriever:
    def __init__(self, postings: Bm25Postings) -> None:
        self.postings = postings

    @classmethod
    def from_tables(
        cls,
        tokens: TokenTable,
        passages: PassageTable,
        config: IndexConfig,
        folded: FoldedChunks | None = None,
    ) -> PostingsRetriever:
        """A passage is a run of consecutive sentences, so its tokens are one slice of the
        sentence token array: the postings are built from term ids, no strings involved.
        `folded`, the passages' terms already folded as the build read them, saves a pass
        over the tokens."""
        pointers = tokens.pointers()
        starts = pointers[passages.column("first")]
        ends = pointers[passages.column("last") + 1]
        if folded is None:
            folded = fold_passages(tokens.all_ids(), starts, ends)
        return cls(
            Bm25Postings.from_chunks(
                folded,
                ends - starts,
                terms=tokens.terms,
                vocabulary=tokens.vocabulary,
                k1=config.k1,
                b=config.b,
                epsilon=config.epsilon,
            )
        )

    def top(
        self, query: Sequence[str], limit: int, allowed: range | None = None
    ) -> list[tuple[int, float]]:
        return self.postings.top(query, limit, allowed)


def build_retriever(
    tokens: TokenTable,
    passages: PassageTable,
    passage_tokens: Iterable[list[str]],
    config: IndexConfig,
    folded: FoldedChunks | None = None,
) -> PassageRetriever:
    """The retriever for these passages. At least one must have a searchable word (rank-bm25
    divides by zero otherwise); the caller checks."""
    if len(passages) < LARGE_CORPUS:
        return RankBm25Retriever(list(passage_tokens), config)
    return PostingsRetriever.from_tables(tokens, passages, config, folded)
