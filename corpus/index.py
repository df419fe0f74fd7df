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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from .acronyms import find_acronyms
from .models import Document, IndexConfig, Paragraph, Passage, Sentence
from .passages import make_passages
from .retrieval import PassageRetriever, build_retriever
from .segment import segment_document
from .tables import DocumentTexts, ParagraphTable, PassageTable, SentenceTable, TokenTable
from .tokenize import TOKENIZER_VERSION, tokenize

__all__ = ["CorpusIndex", "DocumentSpan", "ScoredPassage", "build_index", "positive_idf"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentSpan:
    """Where one document's paragraphs, sentences and passages sit in the index's lists.

    `document` carries the metadata only (its `text` is empty): the index keeps the texts
    packed in `CorpusIndex.texts`; `CorpusIndex.document_text` gives them back."""

    document: Document
    number: int  # in `CorpusIndex.texts`
    paragraphs: range
    sentences: range
    passages: range


@dataclass(frozen=True)
class ScoredPassage:
    position: int
    bm25: float
    first: int  # its first and last sentences' positions
    last: int
    table: PassageTable = field(repr=False, compare=False)

    @property
    def passage(self) -> Passage:
        return self.table[self.position]


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
    texts: DocumentTexts
    paragraphs: ParagraphTable
    sentences: SentenceTable
    sentence_tokens: TokenTable
    passages: PassageTable
    # Derived from the tables above at build time; kept because rebuilding them costs a pass
    # over every token.
    retriever: PassageRetriever | None = None
    sentence_df: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Sentence i lies in passages _holders[_holder_pointers[i]:_holder_pointers[i + 1]].
    _holder_pointers: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    _holders: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    average_sentence_length: float = 1.0
    tokenizer_version: int = TOKENIZER_VERSION
    # What the seed files looked like when this index was made: (size, mtime) by file name,
    # and the files that could not be used, as (path, problem). Set by corpus/store.py.
    seed_stamps: dict[str, tuple[int, int]] = field(default_factory=dict)
    seed_problems: list[tuple[str, str]] = field(default_factory=list)
    analysed_documents: int = 0  # read and tokenised in this build; the rest were reused
    # Acronyms the corpus defines: stem of the acronym -> stems of its long form.
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def vocabulary_size(self) -> int:
        return len(self.sentence_tokens.terms)

    @property
    def documents(self) -> list[Document]:
        return [span.document for span in self.spans.values()]

    def document_text(self, doc_id: str) -> str:
        return self.texts.text(self.spans[doc_id].number)

    def text_slice(self, doc_id: str, start: int, end: int) -> str:
        return self.texts.slice(self.spans[doc_id].number, start, end)

    def sentence_idf(self, term: str) -> float:
        t = self.sentence_tokens.vocabulary.get(term)
        frequency = int(self.sentence_df[t]) if t is not None else 0
        return positive_idf(frequency, len(self.sentences))

    def paragraph_of(self, sentence: Sentence) -> int:
        """Position in `paragraphs` of the paragraph holding `sentence`."""
        return self.spans[sentence.doc_id].paragraphs.start + sentence.paragraph - 1

    def passages_of_sentence(self, position: int) -> list[int]:
        start, end = self._holder_pointers[position], self._holder_pointers[position + 1]
        return self._holders[start:end].tolist()

    def passage_tokens(self) -> Iterator[list[str]]:
        """Each passage's tokens: its sentences' tokens, in order (made on demand, not kept)."""
        tokens = self.sentence_tokens
        for first, last in zip(
            self.passages.column("first").tolist(),
            self.passages.column("last").tolist(),
            strict=True,
        ):
            yield [t for s in range(first, last + 1) for t in tokens[s]]

    def reusable_analysis(self, doc_id: str, sha256: str) -> DocumentAnalysis | None:
        """The stored analysis of this document, if its content is unchanged (made on demand,
        one document at a time, so a rebuild never holds two corpora in memory)."""
        span = self.spans.get(doc_id)
        if (
            span is None
            or span.document.sha256 != sha256
            or self.tokenizer_version != TOKENIZER_VERSION
        ):
            return None
        return DocumentAnalysis(
            [self.paragraphs[p] for p in span.paragraphs],
            [self.sentences[s] for s in span.sentences],
            [self.sentence_tokens[s] for s in span.sentences],
        )

    def expand_query(self, terms: list[str]) -> list[str]:
        """The terms plus the long forms of the acronyms among them, for retrieval."""
        extra = [a for t in terms for a in self.aliases.get(t, ())]
        return terms + extra if extra else terms

    def search(
        self, query_tokens: list[str], limit: int, doc_id: str | None = None
    ) -> list[ScoredPassage]:
        """The best `limit` passages sharing a term with the query, best first."""
        if self.retriever is None or limit <= 0:
            return []
        allowed = self.spans[doc_id].passages if doc_id is not None else None
        firsts, lasts = self.passages.column("first"), self.passages.column("last")
        return [
            ScoredPassage(
                position, score, int(firsts[position]), int(lasts[position]), self.passages
            )
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
Reuse = Callable[[str, str], "DocumentAnalysis | None"]  # (doc id, content hash) -> analysis


def build_index(
    documents: list[Document],
    config: IndexConfig,
    content_hash: str,
    *,
    reuse: Reuse | None = None,
    progress: Progress | None = None,
) -> CorpusIndex:
    """Index `documents`. Documents `reuse` knows (by id and content hash) are not read
    again; only the corpus-wide statistics are recomputed."""
    texts = DocumentTexts()
    index = CorpusIndex(
        config=config,
        content_hash=content_hash,
        built_at=datetime.now(UTC),
        spans={},
        texts=texts,
        paragraphs=ParagraphTable(texts),
        sentences=SentenceTable(texts),
        sentence_tokens=TokenTable(),
        passages=PassageTable(texts),
    )
    for done, document in enumerate(documents, start=1):
        analysis = reuse(document.id, document.sha256) if reuse else None
        if analysis is None:
            analysis = analyse_document(document)
            index.analysed_documents += 1
        _add_document(index, document, analysis)
        if progress is not None:
            progress(done, len(documents))
    # Acronyms need the whole texts; look while they are still at hand.
    index.aliases = find_acronyms(document.text for document in documents)
    for table in (
        index.texts,
        index.paragraphs,
        index.sentences,
        index.sentence_tokens,
        index.passages,
    ):
        table.freeze()
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
    number = index.texts.add(document.id, document.text)
    index.paragraphs.append_document(number, analysis.paragraphs)
    index.sentences.append_document(number, analysis.sentences)
    for tokens in analysis.tokens:
        index.sentence_tokens.append(tokens)
    index.passages.append_document(number, passages, analysis.sentences, first_sentence)
    index.spans[document.id] = DocumentSpan(
        document=document.model_copy(update={"text": ""}),
        number=number,
        paragraphs=range(first_paragraph, len(index.paragraphs)),
        sentences=range(first_sentence, len(index.sentences)),
        passages=range(first_passage, len(index.passages)),
    )


def _derive(index: CorpusIndex) -> None:
    tokens = index.sentence_tokens
    index.sentence_df = _sentence_frequencies(tokens)
    index.average_sentence_length = max(tokens.total() / max(len(index.sentences), 1), 1.0)
    index._holder_pointers, index._holders = index.passages.sentences_by_passage(
        len(index.sentences)
    )
    if tokens.total():
        index.retriever = build_retriever(
            tokens, index.passages, index.passage_tokens(), index.config
        )
    elif index.spans:
        _log.warning("The corpus has no searchable words; every question will go unanswered.")


def _sentence_frequencies(tokens: TokenTable) -> np.ndarray:
    """In how many sentences each term occurs (a term twice in a sentence counts once)."""
    frequencies = np.zeros(len(tokens.terms), dtype=np.int64)
    pointers, all_ids = tokens.pointers(), tokens.all_ids()
    step = 200_000  # sentences at a time, to bound the temporary arrays
    for first in range(0, len(tokens), step):
        last = min(first + step, len(tokens))
        ids = all_ids[pointers[first] : pointers[last]].astype(np.int64)
        sizes = np.diff(pointers[first : last + 1])
        sentence = np.repeat(np.arange(last - first, dtype=np.int64), sizes)
        pairs = np.sort((sentence << 32) | ids)  # sorting beats numpy's hashing unique here
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
        frequencies += np.bincount(pairs & 0xFFFFFFFF, minlength=len(frequencies))
    return frequencies
