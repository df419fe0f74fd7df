"""The corpus as front ends see it: open a seeds directory, ask, summarise, describe.

This is the whole surface the command line and the Discord bot use. It holds no Discord or
terminal concerns, and every method is a plain function of the index it holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from .answering.answer import answer_question
from .answering.followup import Exchange, read_follow_up
from .answering.question import DEFAULT_MAX_QUESTION_CHARS, clean_question
from .answering.summarize import summarize
from .errors import DamagedIndexError, SeedFileError, UnknownDocumentError
from .indexing.index import CorpusIndex, Progress, build_index
from .indexing.store import CacheStatus, content_hash, open_index
from .meaning import encoder_status, meaning_of
from .models import (
    Answer,
    CorpusStats,
    Document,
    DocumentStats,
    IndexConfig,
    Paragraph,
    ParagraphText,
    Summary,
    SummaryLength,
    VectorStatus,
)
from .tokenize import tokenize

if TYPE_CHECKING:
    from .meaning.sentences import Meaning

__all__ = ["Corpus"]

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class _Source:
    seeds_dir: Path
    cache_dir: Path | None
    config: IndexConfig | None


@dataclass
class Corpus:
    index: CorpusIndex
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS
    cache_status: CacheStatus = "uncached"
    open_seconds: float = 0.0
    save_seconds: float = 0.0  # of open_seconds, writing the index cache
    problems: list[SeedFileError] = field(default_factory=list)
    # Where the index came from, so a damaged one can be rebuilt in place.
    source: _Source | None = None
    # The sentence encoder's vectors for this index (None: no encoder, words only).
    meaning: Meaning | None = None

    @classmethod
    def open(
        cls,
        seeds_dir: Path,
        *,
        cache_dir: Path | None = None,
        config: IndexConfig | None = None,
        max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
        force_rebuild: bool = False,
        progress: Progress | None = None,
        encoder: bool = True,
    ) -> Corpus:
        """The corpus of the seeds, its index from the cache when still valid. With `encoder`
        (and the encoder installed), answers also rank by meaning: sentence vectors missing
        from the cache are encoded now when they are few, otherwise in the background."""
        opened = open_index(
            seeds_dir,
            cache_dir=cache_dir,
            config=config,
            force_rebuild=force_rebuild,
            progress=progress,
        )
        return cls(
            index=opened.index,
            max_question_chars=max_question_chars,
            cache_status=opened.cache_status,
            open_seconds=opened.seconds,
            save_seconds=opened.save_seconds,
            problems=opened.problems,
            source=_Source(seeds_dir, cache_dir, config),
            meaning=meaning_of(opened.index, cache_dir) if encoder else None,
        )

    @classmethod
    def of_documents(
        cls,
        documents: list[Document],
        *,
        config: IndexConfig | None = None,
        max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
        encoder: bool = True,
    ) -> Corpus:
        """A corpus of just these documents, in memory (no cache): for articles just added,
        answerable at once while their collection's index catches up. Without `encoder`, no
        sentence vectors are prepared (a page only summarised, never asked)."""
        config = config or IndexConfig()
        index = build_index(documents, config, content_hash(documents, config), workers=1)
        meaning = meaning_of(index, None) if encoder else None
        return cls(index=index, max_question_chars=max_question_chars, meaning=meaning)

    def rebuild(self) -> None:
        """Build the index again from the seeds, ignoring the cache (after damage)."""
        if self.source is None:
            raise RuntimeError("this corpus was not opened from a seeds directory")
        opened = open_index(
            self.source.seeds_dir,
            cache_dir=self.source.cache_dir,
            config=self.source.config,
            force_rebuild=True,
        )
        self.index, self.cache_status = opened.index, opened.cache_status
        self.open_seconds, self.save_seconds = opened.seconds, opened.save_seconds
        self.problems = opened.problems
        if self.meaning is not None:
            self.meaning.stop()
            self.meaning = meaning_of(self.index, self.source.cache_dir)

    def _intact(self, work: Callable[[CorpusIndex], T]) -> T:
        """`work` on an index whose texts check out: on damage, rebuild once and redo it."""
        index = self.index
        if index.damaged and self.source is not None:
            _log.warning("The index is damaged; rebuilding it from the seeds.")
            self.rebuild()
            index = self.index
        try:
            return work(index)
        except DamagedIndexError as error:
            if self.source is None:
                raise
            _log.warning("Stored text of %s is damaged; rebuilding the index.", error.doc_id)
            self.rebuild()
            return work(self.index)

    def question_vector(self, question: str) -> np.ndarray | None:
        """The encoder's vector for a question; None without an encoder, or while it is
        busy with questions (this is never worth a wait)."""
        meaning = self.meaning
        if meaning is None:
            return None
        with meaning.question_turn() as may:
            return meaning.question_vector(question) if may else None

    def ask(
        self,
        question: str,
        *,
        top: int = 3,
        doc_id: str | None = None,
        explain: bool = False,
        previous: Exchange | None = None,
    ) -> Answer:
        """Quotes that answer `question`. With `previous` (the exchange before, in a
        conversation), a follow-up that points back to it ("when was that?") is read with
        the earlier question's words, asking the article its answer quoted first (then every
        article, when that one does not answer)."""
        follow = read_follow_up(question, previous)
        if follow.earlier is None:
            return self._answer(question, top, doc_id, explain)
        avoid = self._sentence_at(follow.doc_id, follow.quoted_start)
        # The earlier answer's article, while the collection still holds it.
        earlier_doc = follow.doc_id if follow.doc_id in self.index.spans else None
        answer = self._answer(follow.text, top, doc_id or earlier_doc, explain, avoid)
        if answer.outcome == "none" and doc_id is None and earlier_doc is not None:
            wider = self._answer(follow.text, top, None, explain, avoid)
            answer = wider if wider.found else answer
        return answer.model_copy(
            update={
                "question": clean_question(question, self.max_question_chars),
                "follows": follow.earlier,
                "read_as": follow.text,
            }
        )

    def _answer(
        self,
        question: str,
        top: int,
        doc_id: str | None,
        explain: bool,
        avoid: frozenset[int] = frozenset(),
    ) -> Answer:
        return self._intact(
            lambda index: answer_question(
                index,
                question,
                top=top,
                doc_id=doc_id,
                max_chars=self.max_question_chars,
                explain=explain,
                meaning=self._meaning_of(index),
                avoid=avoid,
            )
        )

    def _sentence_at(self, doc_id: str | None, start: int | None) -> frozenset[int]:
        """The position of the sentence of `doc_id` that starts at `start` (none: empty)."""
        span = self.index.spans.get(doc_id) if doc_id is not None else None
        if span is None or start is None:
            return frozenset()
        starts = self.index.sentences.column("start")[span.sentences.start : span.sentences.stop]
        return frozenset(int(span.sentences.start + i) for i in np.flatnonzero(starts == start))

    def encode_all(self, progress: Progress | None = None) -> VectorStatus:
        """Encode every sentence vector still missing, now (waiting for a background build to
        stop first), where the collection is encoded ahead; what the answers use."""
        meaning = self.meaning
        if meaning is None:
            return VectorStatus(encoder=encoder_status(), sentences=len(self.index.sentences))
        if meaning.ahead:
            meaning.stop()
            meaning.resume()
            meaning.build(progress)
        return VectorStatus(
            encoder=encoder_status(),
            sentences=len(self.index.sentences),
            in_use=True,
            ahead=meaning.ahead,
            encoded=meaning.encoded,
            seconds=round(meaning.encoding_seconds, 3),
            missing=meaning.missing(),
            save_error=meaning.store.save_error,
        )

    def close(self, *, wait: float = 0.0) -> None:
        """Stop encoding in the background: the corpus was replaced, or the process ends.
        Within `wait` seconds, what was encoded is saved (a build saves as it stops)."""
        meaning = self.meaning
        if meaning is None:
            return
        meaning.stop(timeout=wait)
        if wait and not meaning.building:
            meaning.store.save()  # vectors encoded for questions

    def _meaning_of(self, index: CorpusIndex) -> Meaning | None:
        meaning = self.meaning
        return meaning if meaning is not None and meaning.index is index else None

    def summarize(
        self,
        *,
        length: SummaryLength = "short",
        topic: str | None = None,
        doc_id: str | None = None,
    ) -> Summary:
        return self._intact(
            lambda index: summarize(
                index,
                length=length,
                topic=topic,
                doc_id=doc_id,
                max_chars=self.max_question_chars,
            )
        )

    def paragraphs(self, doc_id: str) -> list[Paragraph]:
        if doc_id not in self.index.spans:
            raise UnknownDocumentError(doc_id, list(self.index.spans))
        span = self.index.spans[doc_id]
        return [self.index.paragraphs[p] for p in span.paragraphs]

    def find_paragraphs(self, text: str, limit: int = 25) -> list[Paragraph]:
        """Paragraphs for a picker: those of the passages that best match `text` (or of a
        document whose id starts with it), in document order. Empty text: the first ones.
        The work depends on the query, not on the size of the corpus."""
        index = self.index
        wanted = " ".join(text.split())
        positions: set[int] = set()
        for doc_id, span in index.spans.items():
            if wanted and doc_id.casefold().startswith(wanted.casefold()):
                positions.update(list(span.paragraphs)[:limit])
                break
        if wanted and len(positions) < limit:
            terms = set(tokenize(wanted))
            for hit in index.search(index.expand_query(list(terms)), limit) if terms else []:
                for sentence in range(hit.first, hit.last + 1):
                    if terms.isdisjoint(index.sentence_tokens[sentence]):
                        continue  # a neighbour in the passage window, not a match
                    positions.add(index.paragraph_of(index.sentences[sentence]))
        if not wanted:
            positions = set(range(min(limit, len(index.paragraphs))))
        return [index.paragraphs[p] for p in sorted(positions)[:limit]]

    def sentence_ids(self, answer: Answer) -> list[int]:
        """Stable ids (positions in this index) of the quotes that answer, for a "Show context"
        button that must keep pointing at them."""
        spans = self.index.spans
        return [
            spans[quote.citation.doc_id].sentences.start + quote.citation.sentence_in_document - 1
            for quote in answer.quotes
            if quote.answers_question and quote.citation.doc_id in spans
        ]

    def context(self, sentence_ids: list[int]) -> list[ParagraphText] | None:
        """Each sentence's paragraph, the sentence highlighted; None for an id this index does
        not have."""
        index = self.index
        if not sentence_ids or max(sentence_ids) >= len(index.sentences) or min(sentence_ids) < 0:
            return None
        shown = []
        for position in sentence_ids:
            sentence = index.sentences[position]
            paragraph = index.paragraphs[index.paragraph_of(sentence)]
            shown.append(
                self._paragraph_text(
                    paragraph, (sentence.start - paragraph.start, sentence.end - paragraph.start)
                )
            )
        return shown

    def paragraph_with_neighbours(
        self, doc_id: str, number: int
    ) -> tuple[ParagraphText, list[ParagraphText]] | None:
        """Paragraph `number` of a document and the ones either side; None if there is none."""
        if doc_id not in self.index.spans:
            return None
        paragraphs = self.paragraphs(doc_id)
        if not 1 <= number <= len(paragraphs):
            return None
        neighbours = [
            self._paragraph_text(paragraphs[n - 1])
            for n in (number - 1, number + 1)
            if 1 <= n <= len(paragraphs)
        ]
        return self._paragraph_text(paragraphs[number - 1]), neighbours

    def _paragraph_text(
        self, paragraph: Paragraph, highlight: tuple[int, int] | None = None
    ) -> ParagraphText:
        document = self.index.spans[paragraph.doc_id].document
        return ParagraphText(
            doc_id=paragraph.doc_id,
            title=document.title,
            number=paragraph.number,
            text=self.paragraph_text(paragraph),
            url=document.url,
            highlight=highlight,
        )

    def paragraph_text(self, paragraph: Paragraph) -> str:
        return self._intact(
            lambda index: index.text_slice(paragraph.doc_id, paragraph.start, paragraph.end)
        )

    def stats(self) -> CorpusStats:
        index = self.index
        documents = tuple(
            DocumentStats(
                id=doc_id,
                title=span.document.title,
                characters=index.texts.length(span.number),
                paragraphs=len(span.paragraphs),
                sentences=len(span.sentences),
                passages=len(span.passages),
            )
            for doc_id, span in index.spans.items()
        )
        return CorpusStats(
            documents=documents,
            sentences=len(index.sentences),
            passages=len(index.passages),
            vocabulary=index.vocabulary_size,
            content_hash=index.content_hash,
            built_at=index.built_at,
            documents_read=index.analysed_documents,
        )
