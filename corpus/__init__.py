"""The corpus core: seeds → paragraphs and sentences → passages → BM25 index → quoted answers
and summaries. Pure Python, no Discord; front ends use `Corpus`, the models, the names
below and `corpus.sources` (where articles come from and are kept), nothing deeper.

`Corpus` and the models load on first use (PEP 562), so a process that needs one stage only
(the child process that reads an untrusted file, corpus/ingest/isolation.py) does not pay for
the answering stack."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import (
    BadQuestionError,
    CorpusError,
    DamagedIndexError,
    NoSeedsError,
    SeedFileError,
    UnknownDocumentError,
)

if TYPE_CHECKING:
    from .answering.followup import Exchange
    from .answering.question import DEFAULT_MAX_QUESTION_CHARS, LONGEST_ALLOWED_QUESTION, too_long
    from .engine import Corpus
    from .evaluate import EvalReport, evaluate_file
    from .indexing.store import cache_path, verify_cache
    from .ingest.bundled import bundled_seeds_dir
    from .ingest.formats import SUFFIXES
    from .ingest.limits import MAX_BYTES
    from .ingest.loader import meta_beside, read_article, read_regular_file
    from .meaning.encoder import configure as configure_encoder
    from .meaning.limits import AHEAD_LIMIT
    from .models import Answer, Citation, CorpusStats, IndexConfig, Quote, Summary
    from .threads import limit_blas_threads
    from .tokenize import tokenize as tokenize_text

__all__ = [
    "AHEAD_LIMIT",
    "DEFAULT_MAX_QUESTION_CHARS",
    "LONGEST_ALLOWED_QUESTION",
    "MAX_BYTES",
    "SUFFIXES",
    "Answer",
    "BadQuestionError",
    "Citation",
    "Corpus",
    "CorpusError",
    "CorpusStats",
    "DamagedIndexError",
    "EvalReport",
    "Exchange",
    "IndexConfig",
    "NoSeedsError",
    "Quote",
    "SeedFileError",
    "Summary",
    "UnknownDocumentError",
    "bundled_seeds_dir",
    "cache_path",
    "configure_encoder",
    "evaluate_file",
    "limit_blas_threads",
    "meta_beside",
    "read_article",
    "read_regular_file",
    "tokenize_text",
    "too_long",
    "verify_cache",
]

_MODELS = ("Answer", "Citation", "CorpusStats", "IndexConfig", "Quote", "Summary")
# What the front ends use, by the module it comes from (bot/ imports nothing deeper than
# this package, corpus.models and corpus.sources: ruff's banned-API rule checks it).
_LAZY: dict[str, tuple[str, str]] = {
    "Corpus": (".engine", "Corpus"),
    **{name: (".models", name) for name in _MODELS},
    "Exchange": (".answering.followup", "Exchange"),
    **{
        name: (".answering.question", name)
        for name in ("DEFAULT_MAX_QUESTION_CHARS", "LONGEST_ALLOWED_QUESTION", "too_long")
    },
    "EvalReport": (".evaluate", "EvalReport"),
    "evaluate_file": (".evaluate", "evaluate_file"),
    "cache_path": (".indexing.store", "cache_path"),
    "verify_cache": (".indexing.store", "verify_cache"),
    "bundled_seeds_dir": (".ingest.bundled", "bundled_seeds_dir"),
    "SUFFIXES": (".ingest.formats", "SUFFIXES"),
    "MAX_BYTES": (".ingest.limits", "MAX_BYTES"),
    **{
        name: (".ingest.loader", name)
        for name in ("meta_beside", "read_article", "read_regular_file")
    },
    "configure_encoder": (".meaning.encoder", "configure"),
    "AHEAD_LIMIT": (".meaning.limits", "AHEAD_LIMIT"),
    "limit_blas_threads": (".threads", "limit_blas_threads"),
    # Not `tokenize`: that is the module's name, which importing it sets on this package.
    "tokenize_text": (".tokenize", "tokenize"),
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module, __name__), attribute)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value
