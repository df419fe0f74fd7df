"""The corpus core: seeds → paragraphs and sentences → passages → BM25 index → quoted answers
and summaries. Pure Python, no Discord; front ends use `Corpus` and the models.

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
    from .engine import Corpus
    from .models import Answer, Citation, CorpusStats, IndexConfig, Quote, Summary

__all__ = [
    "Answer",
    "BadQuestionError",
    "Citation",
    "Corpus",
    "CorpusError",
    "CorpusStats",
    "DamagedIndexError",
    "IndexConfig",
    "NoSeedsError",
    "Quote",
    "SeedFileError",
    "Summary",
    "UnknownDocumentError",
]

_MODELS = ("Answer", "Citation", "CorpusStats", "IndexConfig", "Quote", "Summary")
_LAZY = {"Corpus": ".engine", **dict.fromkeys(_MODELS, ".models")}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value
