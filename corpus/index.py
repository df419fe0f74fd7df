"""Stage 5: the corpus index. It owns documents, sentences and passages, and ranks passages
with BM25 as rank-bm25's BM25Okapi defines it (corpus/retrieval.py).

rank-bm25 has traps that must never reach a user, and each is handled here:
- BM25Okapi gives an IDF of zero, or a small floor, to a term found in half or more of the
  passages, so a small corpus can score every passage 0 or below. Only passages that share a
  term with the question are candidates at all, and sentences are then scored with an IDF that
  never vanishes (`positive_idf`), so such a corpus still answers.
- An empty corpus, or one without a single content word, divides by zero inside rank-bm25.
  Such an index has no retriever and simply finds nothing.
- `get_top_n` returns ties in reverse document order. It is not used: ties keep document order.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .acronyms import find_acronyms
from .models import Document, IndexConfig, Paragraph, Passage, Sentence
from .passages import make_passages
from .retrieval import PassageRetriever, build_retriever
from .segment import segment_document
from .tokenize import TOKENIZER_VERSION, tokenize

__all__ = ["CorpusIndex", "DocumentSpan", "ScoredPassage", "build_index", "positive_idf"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentSpan:
    """Where one document's paragraphs, sentences and passages sit in the index's lists."""

    document: Document
    paragraphs: range
    sentences: range
    passages: range


@dataclass(frozen=True)
class ScoredPassage:
    passage: Passage
    position: int
    bm25: float


def positive_idf(document_frequency: int, total: int) -> float:
    """An IDF that stays positive however common the term (Lucene's form); unseen terms get
    the highest value, which is what makes a question about an absent subject look absent."""
    return math.log(1.0 + (total - document_frequency + 0.5) / (document_frequency + 0.5))


@dataclass
class CorpusIndex:
    config: IndexConfig
    content_hash: str
    built_at: datetime
    spans: dict[str, DocumentSpan]
    paragraphs: list[Paragraph]
    sentences: list[Sentence]
    sentence_tokens: list[list[str]]
    passages: list[Passage]
    # Derived from the lists above at build time; kept because rebuilding them costs a pass
    # over every token.
    retriever: PassageRetriever | None = None
    vocabulary_size: int = 0
    sentence_df: Counter[str] = field(default_factory=Counter)
    sentence_passages: list[list[int]] = field(default_factory=list)  # sentence -> passages
    average_sentence_length: float = 1.0
    tokenizer_version: int = TOKENIZER_VERSION
    analysed_documents: int = 0  # read and tokenised in this build; the rest were reused
    # Acronyms the corpus defines: stem of the acronym -> stems of its long form.
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def documents(self) -> list[Document]:
        return [span.document for span in self.spans.values()]

    def sentence_idf(self, term: str) -> float:
        return positive_idf(self.sentence_df.get(term, 0), len(self.sentences))

    def passage_tokens(self) -> Iterator[list[str]]:
        """Each passage's tokens: its sentences' tokens, in order (made on demand, not kept)."""
        for passage in self.passages:
            yield [
                t
                for tokens in self.sentence_tokens[passage.first : passage.last + 1]
                for t in tokens
            ]

    def reusable_analyses(self) -> dict[tuple[str, str], DocumentAnalysis]:
        """Each document's analysis by (id, content hash), for the next build to reuse."""
        if self.tokenizer_version != TOKENIZER_VERSION:
            return {}
        return {
            (doc_id, span.document.sha256): DocumentAnalysis(
                [self.paragraphs[p] for p in span.paragraphs],
                [self.sentences[s] for s in span.sentences],
                [self.sentence_tokens[s] for s in span.sentences],
            )
            for doc_id, span in self.spans.items()
        }

    def expand_query(self, terms: list[str]) -> list[str]:
        """The terms plus the long forms of the acronyms among them, for retrieval."""
        extra = [a for t in terms for a in self.aliases.get(t, ())]
        return terms + extra if extra else terms

    def term_in(self, term: str, counts: Mapping[str, int]) -> bool:
        """Whether a text with these token counts contains the term, or spells out the
        acronym the term stands for."""
        if term in counts:
            return True
        long_form = self.aliases.get(term)
        return bool(long_form) and all(a in counts for a in long_form)

    def search(
        self, query_tokens: list[str], limit: int, doc_id: str | None = None
    ) -> list[ScoredPassage]:
        """The best `limit` passages sharing a term with the query, best first."""
        if self.retriever is None or limit <= 0:
            return []
        allowed = self.spans[doc_id].passages if doc_id is not None else None
        return [
            ScoredPassage(self.passages[position], position, score)
            for position, score in self.retriever.top(query_tokens, limit, allowed)
        ]


@dataclass(frozen=True)
class DocumentAnalysis:
    """What reading one document produced: the slow part of a build, reusable while the file
    is unchanged."""

    paragraphs: list[Paragraph]
    sentences: list[Sentence]
    tokens: list[list[str]]


Progress = Callable[[int, int], None]  # (documents done, documents in all)


def build_index(
    documents: list[Document],
    config: IndexConfig,
    content_hash: str,
    *,
    reuse: Mapping[tuple[str, str], DocumentAnalysis] | None = None,
    progress: Progress | None = None,
) -> CorpusIndex:
    """Index `documents`. Documents found in `reuse` (by id and content hash) are not read
    again; only the corpus-wide statistics are recomputed."""
    index = CorpusIndex(
        config=config,
        content_hash=content_hash,
        built_at=datetime.now(UTC),
        spans={},
        paragraphs=[],
        sentences=[],
        sentence_tokens=[],
        passages=[],
    )
    reuse = reuse or {}
    for done, document in enumerate(documents, start=1):
        analysis = reuse.get((document.id, document.sha256))
        if analysis is None:
            analysis = analyse_document(document)
            index.analysed_documents += 1
        _add_document(index, document, analysis)
        if progress is not None:
            progress(done, len(documents))
    _derive(index)
    return index


def analyse_document(document: Document) -> DocumentAnalysis:
    paragraphs, sentences = segment_document(document)
    return DocumentAnalysis(paragraphs, sentences, [tokenize(s.text) for s in sentences])


def _add_document(index: CorpusIndex, document: Document, analysis: DocumentAnalysis) -> None:
    first_paragraph, first_sentence, first_passage = (
        len(index.paragraphs),
        len(index.sentences),
        len(index.passages),
    )
    passages = make_passages(
        analysis.sentences,
        first_sentence,
        index.config.passage_sentences,
        index.config.passage_overlap,
    )
    index.paragraphs.extend(analysis.paragraphs)
    index.sentences.extend(analysis.sentences)
    index.sentence_tokens.extend(analysis.tokens)
    index.passages.extend(passages)
    index.spans[document.id] = DocumentSpan(
        document=document,
        paragraphs=range(first_paragraph, len(index.paragraphs)),
        sentences=range(first_sentence, len(index.sentences)),
        passages=range(first_passage, len(index.passages)),
    )


def _derive(index: CorpusIndex) -> None:
    index.sentence_df = Counter(t for tokens in index.sentence_tokens for t in set(tokens))
    total_tokens = sum(len(tokens) for tokens in index.sentence_tokens)
    index.average_sentence_length = max(total_tokens / max(len(index.sentences), 1), 1.0)
    index.sentence_passages = [[] for _ in index.sentences]
    for position, passage in enumerate(index.passages):
        for sentence in range(passage.first, passage.last + 1):
            index.sentence_passages[sentence].append(position)
    index.aliases = find_acronyms(span.document.text for span in index.spans.values())
    index.vocabulary_size = len(index.sentence_df)
    if index.sentence_df:
        index.retriever = build_retriever(index.passage_tokens(), len(index.passages), index.config)
    elif index.spans:
        _log.warning("The corpus has no searchable words; every question will go unanswered.")
