"""Boundary types of the corpus: what the pipeline stages hand each other and the front ends.

Every model is frozen and rejects unknown fields, so a typo in a caller is an error, not a
silently ignored value.
"""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Answer",
    "AnswerOutcome",
    "CacheReport",
    "Citation",
    "CorpusStats",
    "Document",
    "DocumentMeta",
    "DocumentStats",
    "Explanation",
    "IndexConfig",
    "LeadIn",
    "Paragraph",
    "Passage",
    "Quote",
    "Sentence",
    "Summary",
    "SummaryLength",
]

SummaryLength = Literal["short", "medium", "long"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# What a metadata file may hold; the library writes within these, so what it writes reads back.
TITLE_CHARS, SOURCE_CHARS, AUTHOR_CHARS, URL_CHARS = 300, 200, 300, 2000
WEB_URL = r"https?://\S+"


class DocumentMeta(_Frozen):
    """Optional facts about a seed, read from `<id>.meta.toml` next to `<id>.txt`."""

    title: str | None = Field(default=None, min_length=1, max_length=TITLE_CHARS)
    source: str | None = Field(default=None, min_length=1, max_length=SOURCE_CHARS)
    author: str | None = Field(default=None, min_length=1, max_length=AUTHOR_CHARS)
    date: datetime.date | None = None
    url: str | None = Field(default=None, pattern=f"^{WEB_URL}$", max_length=URL_CHARS)


class Document(_Frozen):
    """One seed file: its id (file name without extension), metadata and its text (as stored:
    the file's text, or what was extracted from a web page, a PDF or Markdown)."""

    id: str
    title: str
    source: str | None = None
    author: str | None = None
    date: datetime.date | None = None
    url: str | None = None
    path: str
    text: str
    sha256: str


class Paragraph(_Frozen):
    doc_id: str
    number: int  # 1-based within the document
    start: int
    end: int


class ParagraphText(_Frozen):
    """A paragraph as a reader sees it: its text, its article, and optionally the span of one
    sentence in it to highlight (relative to `text`)."""

    doc_id: str
    title: str
    number: int
    text: str
    url: str | None = None
    highlight: tuple[int, int] | None = None


class Sentence(_Frozen):
    """A sentence is always `document.text[start:end]`; numbers are 1-based."""

    doc_id: str
    paragraph: int
    number_in_paragraph: int
    number: int  # within the document
    start: int
    end: int
    text: str


class Passage(_Frozen):
    """A window of consecutive sentences of one document; the unit the BM25 index scores.

    `first` and `last` are positions in the index's sentence list (inclusive); the id only
    depends on the document and the window, so it is stable across rebuilds of unchanged text.
    """

    id: str
    doc_id: str
    first: int
    last: int


class Citation(_Frozen):
    doc_id: str
    title: str
    paragraph: int
    sentence: int  # within the paragraph
    sentence_in_document: int
    start: int
    end: int
    # Where the article came from, so a citation can link back to it and say whose it is.
    url: str | None = None
    source: str | None = None
    date: datetime.date | None = None


class LeadIn(_Frozen):
    """The sentence before a quote that opens by pointing back ("This raises questions ..."),
    shown with it so the quote makes sense on its own. Also verbatim."""

    text: str
    citation: Citation


class Explanation(_Frozen):
    """Why a sentence was picked: each matched question term's part of its match score, the
    sentence's words that stand in for question terms it lacks (WordNet synonyms, irregular
    forms: "died" ← "perished"), and the weighted features that made its total score."""

    terms: dict[str, float]
    features: dict[str, float]
    stand_ins: dict[str, tuple[str, ...]] = {}  # question stem -> stems of the sentence's words
    # Set when a rule, not the model, chose the sentence (the lead, for a broad question).
    rule: str | None = None


class Quote(_Frozen):
    """A verbatim sentence from a seed, with where it came from and why it was picked."""

    text: str
    citation: Citation
    score: float
    # Share of the question's IDF weight this sentence contains, and whether it is shown as an
    # answer (the first quote of a confident answer, and others that score close to it).
    coverage: float = 0.0
    answers_question: bool = False
    matched_terms: tuple[str, ...] = ()
    # Character spans (relative to `text`) of the words that matched the question.
    highlights: tuple[tuple[int, int], ...] = ()
    lead_in: LeadIn | None = None
    explanation: Explanation | None = None


AnswerOutcome = Literal["answer", "closest", "none"]


class Answer(_Frozen):
    question: str
    # True only when the first quote answers, with confidence (outcome "answer").
    found: bool
    # "answer": the quotes answer; "closest": the articles may not answer directly, and the
    # first quote is only the closest passage; "none": nothing relevant.
    outcome: AnswerOutcome = "none"
    # The answer model's probability that the first quote answers the question, 0..1 (1.0
    # when a rule chose the quotes: see `basis`).
    confidence: float = 0.0
    # What chose the quotes: the answer model, or the rule for a broad question ("What
    # happened in Niger?"): "lead" when they are the article's opening sentences, "naming"
    # when they are its first sentences that name the subject.
    basis: Literal["model", "lead", "naming"] = "model"
    # Why nothing is quoted as the answer, in words a reader can act on; None when found.
    reason: str | None = None
    # Best first; listed even when found is false, as the nearest candidates.
    quotes: tuple[Quote, ...] = ()
    # For a follow-up ("when was that?"): the earlier question it was read with, and the
    # question as it was read (its own words, then the earlier one's). None: it stood alone.
    follows: str | None = None
    read_as: str | None = None

    @property
    def shown(self) -> tuple[Quote, ...]:
        """The quotes a reader is shown: those that answer; the closest passage alone when
        the articles may not answer; none when nothing is relevant."""
        if self.found:
            return tuple(q for q in self.quotes if q.answers_question)
        return self.quotes[:1] if self.outcome == "closest" else ()


class Summary(_Frozen):
    length: SummaryLength
    topic: str | None = None
    doc_id: str | None = None
    found: bool
    reason: str | None = None
    quotes: tuple[Quote, ...] = ()  # in article order

    @field_validator("quotes")
    @classmethod
    def _in_article_order(cls, quotes: tuple[Quote, ...]) -> tuple[Quote, ...]:
        keys = [(q.citation.doc_id, q.citation.start) for q in quotes]
        if len({k[0] for k in keys}) == 1 and keys != sorted(keys):
            raise ValueError("summary quotes must be in article order")
        return quotes


class DocumentStats(_Frozen):
    id: str
    title: str
    characters: int
    paragraphs: int
    sentences: int
    passages: int


class CorpusStats(_Frozen):
    documents: tuple[DocumentStats, ...]
    sentences: int
    passages: int
    vocabulary: int
    content_hash: str
    built_at: datetime.datetime
    # Documents read and tokenised when the index was last built; the others were reused.
    documents_read: int = 0


class VectorStatus(_Frozen):
    """What the sentence encoder does for a corpus: which encoder (or why none), and, where it
    is in use, the vectors this process encoded and those still missing."""

    encoder: str  # its name and version, or why there is none
    sentences: int
    in_use: bool = False
    ahead: bool = False  # every sentence is encoded ahead (otherwise candidates when asked)
    encoded: int = 0
    seconds: float = 0.0
    missing: int = 0
    save_error: str | None = None  # why they could not be saved to the cache, if so


class CacheReport(_Frozen):
    """What `verify` found: the cache file's checksums and structure, each stored text
    against its hash, and against its seed file as it reads today."""

    cache_file: str | None
    intact: bool
    articles: int
    problems: tuple[str, ...] = ()


class IndexConfig(_Frozen):
    """How seeds become passages and how BM25 scores them; part of the cache key."""

    passage_sentences: int = Field(default=3, ge=1, le=50)
    passage_overlap: int = Field(default=1, ge=0, le=49)
    k1: float = Field(default=1.5, gt=0)
    b: float = Field(default=0.75, ge=0, le=1)
    epsilon: float = Field(default=0.25, ge=0)
    # Follow symbolic links to files outside the seeds directory (off: only links inside).
    follow_links: bool = False

    @field_validator("passage_overlap")
    @classmethod
    def _overlap_below_size(cls, overlap: int, info) -> int:  # type: ignore[no-untyped-def]
        size = info.data.get("passage_sentences", 3)
        if overlap >= size:
            raise ValueError(
                f"passage_overlap ({overlap}) must be below passage_sentences ({size})"
            )
        return overlap
