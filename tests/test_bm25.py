"""The numpy postings give rank-bm25's BM25Okapi scores, and both retrievers the same top-10."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from corpus.indexing.bm25 import Bm25Postings
from corpus.indexing.retrieval import PostingsRetriever, RankBm25Retriever
from corpus.models import IndexConfig

WORDS = [f"w{n}" for n in range(30)]
passages_strategy = st.lists(st.lists(st.sampled_from(WORDS), max_size=12), min_size=1, max_size=40)


def reference_top(model: BM25Okapi, query, limit):
    """rank-bm25's scores, restricted to passages sharing a query term, ties by position."""
    scores = model.get_scores(query)
    candidates = [p for p, doc in enumerate(model.doc_freqs) if any(t in doc for t in query)]
    ranked = sorted(candidates, key=lambda p: (-scores[p], p))[:limit]
    return [(p, scores[p]) for p in ranked]


@settings(max_examples=150, deadline=None)
@given(passages=passages_strategy, query=st.lists(st.sampled_from([*WORDS, "unseen"]), max_size=5))
def test_scores_equal_bm25okapi_bit_for_bit(passages, query):
    if not any(passages):
        return
    model = BM25Okapi(passages)
    postings = Bm25Postings.build(passages, k1=1.5, b=0.75, epsilon=0.25)
    positions, scores = postings.scores(query)
    reference = model.get_scores(query)
    for position, score in zip(positions, scores, strict=True):
        assert score == reference[position]
    assert postings.top(query, 10) == reference_top(model, query, 10)


@settings(max_examples=60, deadline=None)
@given(passages=passages_strategy, query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))
def test_both_retrievers_agree(passages, query):
    if not any(passages):
        return
    config = IndexConfig()
    small = RankBm25Retriever(passages, config)
    large = PostingsRetriever(Bm25Postings.build(passages, k1=1.5, b=0.75, epsilon=0.25))
    allowed = range(len(passages) // 3, len(passages))
    assert small.top(query, 10) == large.top(query, 10)
    assert small.top(query, 10, allowed) == large.top(query, 10, allowed)


def test_a_larger_corpus_with_zipf_words_matches_to_1e9():
    rng = random.Random(7)
    vocabulary = [f"t{n}" for n in range(2000)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    passages = [rng.choices(vocabulary, weights, k=rng.randint(5, 60)) for _ in range(3000)]
    model = BM25Okapi(passages)
    postings = Bm25Postings.build(passages, k1=1.5, b=0.75, epsilon=0.25)
    for _ in range(50):
        query = rng.choices(vocabulary, weights, k=rng.randint(1, 5))
        got, expected = postings.top(query, 10), reference_top(model, query, 10)
        assert [p for p, _ in got] == [p for p, _ in expected]
        assert np.allclose([s for _, s in got], [s for _, s in expected], rtol=0, atol=1e-9)


def test_empty_and_unknown_queries():
    postings = Bm25Postings.build([["a", "b"], ["b"]], k1=1.5, b=0.75, epsilon=0.25)
    assert postings.top([], 5) == [] and postings.top(["zzz"], 5) == []
    assert postings.top(["a"], 0) == []
    assert postings.document_frequency("b") == 2


def test_ties_are_in_position_order():
    postings = Bm25Postings.build([["x", "y"]] * 6 + [["z"]], k1=1.5, b=0.75, epsilon=0.25)
    assert [p for p, _ in postings.top(["x"], 4)] == [0, 1, 2, 3]


@pytest.mark.parametrize("limit", [1, 3])
def test_ties_at_the_cut_keep_position_order(limit):
    passages = [["x"]] * 50 + [["x", "x"]] * 2
    postings = Bm25Postings.build(passages, k1=1.5, b=0.75, epsilon=0.25)
    model = BM25Okapi(passages)
    assert postings.top(["x"], limit) == reference_top(model, ["x"], limit)


def test_postings_from_the_index_tables_equal_rank_bm25(tmp_path):
    """The large-corpus path builds from the index's term ids; it must rank as rank-bm25."""
    from corpus.indexing.index import build_index
    from corpus.ingest.loader import load_seeds
    from tests.conftest import make_seeds

    rng = random.Random(3)
    words = [f"word{n}" for n in range(300)]
    texts = {
        f"d{d}": "\n".join(
            " ".join(rng.choices(words, k=rng.randint(3, 15))).capitalize() + "."
            for _ in range(rng.randint(1, 12))
        )
        for d in range(40)
    }
    index = build_index(load_seeds(make_seeds(tmp_path, texts)).documents, IndexConfig(), "h")
    config = IndexConfig()
    small = RankBm25Retriever(list(index.passage_tokens()), config)
    large = PostingsRetriever.from_tables(index.sentence_tokens, index.passages, config)
    for _ in range(100):
        query = rng.choices(words, k=rng.randint(1, 4))
        allowed = index.spans[f"d{rng.randrange(40)}"].passages
        assert small.top(query, 10) == large.top(query, 10)
        assert small.top(query, 10, allowed) == large.top(query, 10, allowed)


def test_a_built_large_index_ranks_as_rank_bm25_end_to_end(tmp_path, monkeypatch):
    """From 5,000 passages the index answers from postings folded batch by batch in worker
    processes as the build reads them: its own retriever, as built, must rank every query as
    rank-bm25's BM25Okapi does over the same passages."""
    from rank_bm25 import BM25Okapi

    from corpus.indexing.index import build_index
    from corpus.indexing.retrieval import LARGE_CORPUS
    from corpus.ingest.loader import load_seeds
    from tests.conftest import make_seeds

    rng = random.Random(11)
    words = [f"term{n}" for n in range(400)]
    texts = {
        f"d{d:03d}": " ".join(
            " ".join(rng.choices(words, k=rng.randint(3, 9))).capitalize() + "." for _ in range(41)
        )
        for d in range(260)
    }
    monkeypatch.setattr("corpus.indexing.index.BATCH_CHARACTERS", 20_000)  # many batches
    monkeypatch.setattr("corpus.indexing.index.PARALLEL_CHARACTERS", 0)  # read by two workers
    documents = load_seeds(make_seeds(tmp_path, texts)).documents
    index = build_index(documents, IndexConfig(), "h", workers=2)
    assert len(index.passages) >= LARGE_CORPUS
    assert type(index.retriever).__name__ == "PostingsRetriever"
    reference = BM25Okapi(list(index.passage_tokens()))
    for _ in range(50):
        query = rng.choices(words, k=rng.randint(1, 4))
        scores = reference.get_scores(query)
        order = sorted(range(len(scores)), key=lambda p: (-scores[p], p))
        expected = [p for p in order if scores[p] != 0][:10]
        hits = index.search(query, 10)
        assert [h.position for h in hits] == expected[: len(hits)], query
        assert len(hits) == min(10, len(expected))
        for hit in hits:
            assert abs(hit.bm25 - scores[hit.position]) < 1e-9
