"""Stages 2 to 5: tokens, passages, the BM25 index with rank-bm25's semantics, and its cache
on disk (data only, checked as it opens)."""
