"""The corpus core: seeds → paragraphs and sentences → passages → BM25 index → quoted answers
and summaries. Pure Python, no Discord; front ends use `Corpus` and the models."""

from .engine import Corpus
from .errors import (
    BadQuestionError,
    CorpusError,
    DamagedIndexError,
    NoSeedsError,
    SeedFileError,
    UnknownDocumentError,
)
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
