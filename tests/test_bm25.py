"""The numpy postings give rank-bm25's BM25Okapi scores, and both retrievers the same top-10."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from corpus.indexing import bm25
from corpus.indexing.bm25 import Bm25Postings
from corpus.indexing.retrieval import PostingsRetriever, RankBm25Retriever
from corpus.models import IndexConfig
from tests.conftest import require_kernel

WORDS = [f"w{n}" for n in range(30)]
# Every ranking test runs the compiled pass and the numpy path; both must equal rank-bm25.
PATHS = [True, False]


def test_the_compiled_pass_is_built_where_ci_runs():
    """`pip install .` builds csrc/quotebot_bm25.c where a C compiler is present, as on the
    project's machines; elsewhere the numpy path answers, and the tests say so."""
    require_kernel(bm25._compiled, "quotebot_bm25")
    passages = [["a"], ["b"]] * 3
    postings = Bm25Postings.build(passages, k1=1.5, b=0.75, epsilon=0.25)
    assert postings.top(["a"], 1) == [(0, BM25Okapi(passages).get_scores(["a"])[0])]


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
    for compiled in PATHS:
        assert postings.top(query, 10, compiled=compiled) == reference_top(model, query, 10)


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
        expected = reference_top(model, query, 10)
        allowed = range(rng.randrange(3000), 3000)
        inside = [(p, s) for p, s in reference_top(model, query, 3000) if p in allowed][:10]
        for compiled in PATHS:
            got = postings.top(query, 10, compiled=compiled)
            assert [p for p, _ in got] == [p for p, _ in expected]
            assert np.allclose([s for _, s in got], [s for _, s in expected], rtol=0, atol=1e-9)
            within = postings.top(query, 10, allowed, compiled=compiled)
            assert [p for p, _ in within] == [p for p, _ in inside]
            assert np.allclose([s for _, s in within], [s for _, s in inside], rtol=0, atol=1e-9)


@pytest.mark.parametrize("compiled", PATHS)
def test_empty_and_unknown_queries(compiled):
    postings = Bm25Postings.build([["a", "b"], ["b"]], k1=1.5, b=0.75, epsilon=0.25)
    assert postings.top([], 5, compiled=compiled) == []
    assert postings.top(["zzz"], 5, compiled=compiled) == []
    assert postings.top(["a"], 0, compiled=compiled) == []
    assert postings.top(["a"], 5, range(1, 2), compiled=compiled) == []
    assert postings.document_frequency("b") == 2


@pytest.mark.parametrize("compiled", PATHS)
def test_ties_are_in_position_order(compiled):
    postings = Bm25Postings.build([["x", "y"]] * 6 + [["z"]], k1=1.5, b=0.75, epsilon=0.25)
    assert [p for p, _ in postings.top(["x"], 4, compiled=compiled)] == [0, 1, 2, 3]


def test_a_damaged_index_raises_instead_of_reading_out_of_bounds():
    require_kernel(bm25._compiled, "quotebot_bm25")
    postings = Bm25Postings.build([["a", "b"], ["b"]] * 3, k1=1.5, b=0.75, epsilon=0.25)
    postings.passages = postings.passages.copy()
    postings.passages[-1] = 10_000  # a posting naming a passage the index does not have
    with pytest.raises(ValueError, match="out of range"):
        postings.top(["b"], 5)
    postings.pointers = postings.pointers.copy()
    postings.pointers[-1] = 10**9  # a term whose postings run past the array
    with pytest.raises(ValueError, match="out of range"):
        postings.top(["b"], 5)


@pytest.mark.parametrize("limit", [1, 3])
def test_ties_at_the_cut_keep_position_order(limit):
    passages = [["x"]] * 50 + [["x", "x"]] * 2
    postings = Bm25Postings.build(passages, k1=1.5, b=0.75, epsilon=0.25)
    model = BM25Okapi(passages)
    for compiled in PATHS:
        assert postings.top(["x"], limit, compiled=compiled) == reference_top(model, ["x"], limit)


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


def test_the_pruned_compiled_pass_equals_the_numpy_path_exactly():
    """The compiled pass skips passages that common words alone cannot lift into the best
    few; over Zipf words, long queries with repeated words, several limits and ranges, it must
    give the numpy path's passages and scores exactly (and so rank-bm25's)."""
    require_kernel(bm25._compiled, "quotebot_bm25")
    rng = random.Random(13)
    vocabulary = [f"t{n}" for n in range(3000)]
    weights = [1 / (rank + 1) ** 1.07 for rank in range(len(vocabulary))]
    passages = [rng.choices(vocabulary, weights, k=rng.randint(3, 80)) for _ in range(6000)]
    postings = Bm25Postings.build(passages, k1=1.5, b=0.75, epsilon=0.25)
    for _ in range(400):
        query = rng.choices(vocabulary, weights, k=rng.randint(1, 9))
        limit = rng.choice([1, 3, 10, 50])
        start = rng.randrange(6000)
        allowed = rng.choice([None, range(start, min(6000, start + rng.randint(1, 3000)))])
        assert postings.top(query, limit, allowed) == postings.top(
            query, limit, allowed, compiled=False
        ), (query, limit, allowed)
