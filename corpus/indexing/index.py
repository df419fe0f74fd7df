"""Stage 5: the corpus index. It owns documents, sentences and passages, and ranks passages
with BM25 as rank-bm25's BM25Okapi defines it (corpus/indexing/retrieval.py).

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

import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..arrays import TermCounts
from ..errors import DamagedIndexError
from ..models import Document, IndexConfig, Passage, Sentence
from ..tokenize import TOKENIZER_VERSION, acronym_words
from .acronyms import acronyms_from_evidence, capitalised_runs
from .analysis import (
    BATCH_CHARACTERS,
    PARALLEL_CHARACTERS,
    AnalysedBatch,
    analysed_batches,
    batch_from_rows,
    build_workers,
)
from .bm25 import FoldedChunks
from .retrieval import PassageRetriever, build_retriever
from .spill import release_pages
from .tables import DocumentTexts, ParagraphTable, PassageTable, SentenceTable, TokenTable

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


def positive_idf(document_frequency: int | np.ndarray, total: int) -> float | np.ndarray:
    """An IDF that stays positive however common the term (Lucene's form); unseen terms get
    the highest value, which is what makes a question about an absent subject look absent.
    Of one frequency, or of an array of them at once."""
    return np.log(1.0 + (total - document_frequency + 0.5) / (document_frequency + 0.5))


def _ends(rows: range) -> tuple[int, int]:
    return rows.start, rows.stop


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
    average_sentence_length: float = 1.0
    tokenizer_version: int = TOKENIZER_VERSION
    # What the seed files looked like when this index was made: (size, mtime) by file name,
    # and the files that could not be used, as (path, problem). Set by corpus/indexing/store.py.
    seed_stamps: dict[str, tuple[int, int]] = field(default_factory=dict)
    seed_problems: list[tuple[str, str]] = field(default_factory=list)
    analysed_documents: int = 0  # read and tokenised in this build; the rest were reused
    # Acronyms the corpus defines: stem of the acronym -> stems of its long form.
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Set when a check of the cache it came from failed after it opened: the corpus then
    # rebuilds before answering again.
    damaged: bool = False

    def __getstate__(self) -> dict:
        """For the cache file: the spans as columns (a million-passage corpus has thousands of
        documents, and a few arrays read faster than thousands of small objects)."""
        state = self.__dict__.copy()
        spans = list(self.spans.values())
        state["spans"] = {
            "documents": [span.document for span in spans],
            "rows": np.array(
                [
                    (s.number, *_ends(s.paragraphs), *_ends(s.sentences), *_ends(s.passages))
                    for s in spans
                ],
                dtype=np.int64,
            ).reshape(len(spans), 7),
        }
        state["seed_stamps"] = {
            "names": list(self.seed_stamps),
            "stamps": np.array(list(self.seed_stamps.values()), dtype=np.int64).reshape(-1, 2),
        }
        return state

    def __setstate__(self, state: dict) -> None:
        columns = state["spans"]
        documents, rows = columns["documents"], columns["rows"]
        if len(documents) != len(rows) or rows.shape[1:] != (7,):
            raise ValueError("the documents and their rows differ")
        state["spans"] = {
            document.id: DocumentSpan(document, n, range(p0, p1), range(s0, s1), range(q0, q1))
            for document, (n, p0, p1, s0, s1, q0, q1) in zip(documents, rows.tolist(), strict=True)
        }
        stamps = state["seed_stamps"]
        state["seed_stamps"] = {
            name: (size, time)
            for name, (size, time) in zip(stamps["names"], stamps["stamps"].tolist(), strict=True)
        }
        self.__dict__.update(state)

    @property
    def vocabulary_size(self) -> int:
        return len(self.sentence_tokens.terms)

    @property
    def documents(self) -> list[Document]:
        return [span.document for span in self.spans.values()]

    def document_text(self, doc_id: str) -> str:
        return self.texts.text(self.spans[doc_id].number)

    def text_slice(self, doc_id: str, start: int, end: int) -> str:
        """Text to show: from a document whose stored bytes still match their hash, within it
        (raises DamagedIndexError otherwise)."""
        self.verify_document(doc_id)
        number = self.spans[doc_id].number
        if not 0 <= start <= end <= self.texts.length(number):
            self.damaged = True
            raise DamagedIndexError(doc_id)
        return self.texts.slice(number, start, end)

    def verify_document(self, doc_id: str) -> None:
        if not self.texts.verify(self.spans[doc_id].number):
            self.damaged = True
            raise DamagedIndexError(doc_id)

    def check_consistency(self) -> None:
        """Cheap structural checks of a loaded index (raises ValueError): every position
        points inside its table, so damage that passed the checksums (or a big cache not yet
        checked) cannot send a lookup out of bounds."""
        self.texts.check_consistency()
        documents = len(self.texts)
        tokens = self.sentence_tokens
        pointers, ids = tokens.pointers(), tokens.all_ids()
        if len(pointers) != len(self.sentences) + 1 or pointers[0] != 0:
            raise ValueError("token pointers do not match the sentences")
        if (np.diff(pointers) < 0).any() or pointers[-1] != len(ids):
            raise ValueError("token pointers are out of order")
        if len(ids) and (ids.min() < 0 or ids.max() >= len(tokens.terms)):
            raise ValueError("a token id outside the vocabulary")
        if len(tokens.vocabulary) != len(tokens.terms) or len(self.sentence_df) != len(
            tokens.terms
        ):
            raise ValueError("the vocabulary does not match its statistics")
        for table in (self.paragraphs, self.sentences):
            doc, start, end = (table.column(n) for n in ("doc", "start", "end"))
            if len(table) and (
                doc.min() < 0
                or doc.max() >= documents
                or (start > end).any()
                or (start < 0).any()
                or (end > self.texts.lengths()[doc]).any()
            ):
                raise ValueError("a paragraph or sentence points outside its document")
        first, last = self.passages.column("first"), self.passages.column("last")
        if len(self.passages) and (
            first.min() < 0 or (first > last).any() or last.max() >= len(self.sentences)
        ):
            raise ValueError("a passage points outside the sentences")
        for span in self.spans.values():
            if not (
                0 <= span.number < documents
                and span.paragraphs.stop <= len(self.paragraphs)
                and span.sentences.stop <= len(self.sentences)
                and span.passages.stop <= len(self.passages)
            ):
                raise ValueError("a document's rows point outside the tables")

    def sentence_idf(self, term: str) -> float:
        t = self.sentence_tokens.vocabulary.get(term)
        frequency = int(self.sentence_df[t]) if t is not None else 0
        return float(positive_idf(frequency, len(self.sentences)))

    def paragraph_of(self, sentence: Sentence) -> int:
        """Position in `paragraphs` of the paragraph holding `sentence`."""
        return self.spans[sentence.doc_id].paragraphs.start + sentence.paragraph - 1

    def passage_tokens(self) -> Iterator[list[str]]:
        """Each passage's tokens: its sentences' tokens, in order (made on demand, not kept)."""
        tokens = self.sentence_tokens
        for first, last in zip(
            self.passages.column("first").tolist(),
            self.passages.column("last").tolist(),
            strict=True,
        ):
            yield [t for s in range(first, last + 1) for t in tokens[s]]

    def can_reuse(self, doc_id: str, sha256: str) -> bool:
        """Whether this index holds the analysis of this document's current content."""
        span = self.spans.get(doc_id)
        return (
            span is not None
            and span.document.sha256 == sha256
            and self.tokenizer_version == TOKENIZER_VERSION
        )

    def reused_batch(self, documents: list[Document], window: tuple[int, int]) -> AnalysedBatch:
        """These documents' rows as stored here (each passes `can_reuse`), for a rebuild:
        made on demand, a run of documents at a time, so a rebuild never holds two corpora
        in memory."""
        spans = [self.spans[d.id] for d in documents]
        paragraphs = _positions(s.paragraphs for s in spans)
        sentences = _positions(s.sentences for s in spans)
        p, c = self.paragraphs.column, self.sentences.column
        old_ids, _, counts = self.sentence_tokens.gather(sentences)
        distinct, local_ids = np.unique(old_ids, return_inverse=True)
        starts, ends = c("start")[sentences].tolist(), c("end")[sentences].tolist()
        doc_of = np.repeat(np.arange(len(documents)), [len(s.sentences) for s in spans]).tolist()
        return batch_from_rows(
            numbering=(-1, next(_REUSED_NUMBERINGS)),  # its own numbering, used once
            first_new_term=0,
            new_terms=[self.sentence_tokens.terms[t] for t in distinct.tolist()],
            paragraph_counts=np.array([len(s.paragraphs) for s in spans], dtype=np.int32),
            paragraphs=np.stack([p("start")[paragraphs], p("end")[paragraphs]], axis=1),
            sentence_counts=np.array([len(s.sentences) for s in spans], dtype=np.int32),
            sentences=np.stack(
                [c(name)[sentences] for name in ("paragraph", "in_paragraph", "start", "end")],
                axis=1,
            ),
            token_counts=counts,
            token_ids=local_ids.astype(np.int32),
            window=window,
            acronyms=acronym_words(
                documents[d].text[a:b] for d, a, b in zip(doc_of, starts, ends, strict=True)
            ),
            phrases=[phrase for d in documents for phrase in capitalised_runs(d.text)],
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


Progress = Callable[[int, int], None]  # (documents done, documents in all)
# Keys for the numberings of reused batches: each such batch numbers its own terms.
_REUSED_NUMBERINGS = itertools.count()


def build_index(
    documents: Iterable[Document],
    config: IndexConfig,
    content_hash: str = "",
    *,
    previous: CorpusIndex | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    expected: tuple[int, int] | None = None,
    spill_to: Path | None = None,
) -> CorpusIndex:
    """Index `documents`, read as they come: each is dropped once the index holds it, so a
    stream of them (corpus/indexing/store.py reads seed files one by one) is never all in
    memory. Those `previous` already holds with the same content are not read again; only
    the corpus-wide statistics are recomputed. Big builds read documents in `workers`
    processes (one per core by default; corpus/indexing/analysis.py).

    For a stream, `expected` is (how many documents, how many characters of them to read):
    for the progress shown and the choice of workers. With `spill_to`, the index's big
    arrays are written to files there as they grow (corpus/indexing/spill.py)."""
    if isinstance(documents, Sequence):
        expected = (len(documents), _characters_to_read(documents, previous))
    count, characters = expected or (0, 0)
    texts = DocumentTexts(spill_to)
    index = CorpusIndex(
        config=config,
        content_hash=content_hash,
        built_at=datetime.now(UTC),
        spans={},
        texts=texts,
        paragraphs=ParagraphTable(texts, spill_to),
        sentences=SentenceTable(texts, spill_to),
        sentence_tokens=TokenTable(spill_to),
        passages=PassageTable(texts, spill_to),
    )
    window = (config.passage_sentences, config.passage_overlap)
    runs = _Runs(_runs(documents, previous))
    workers = build_workers() if workers is None else workers
    fresh = analysed_batches(
        runs.texts_to_read(),
        window,
        workers=workers if characters >= PARALLEL_CHARACTERS else 1,
    )
    totals = _Totals(postings=FoldedChunks(spill_to))
    tables = (index.texts, index.paragraphs, index.sentences, index.sentence_tokens, index.passages)
    try:
        done = 0
        while runs.waiting or runs.pull():
            # The run is dropped as this returns: its documents' texts are in the index now.
            done += _add_run(index, runs.waiting.popleft(), fresh, previous, window, totals)
            if progress is not None:
                progress(done, max(count, done))
        fresh.close()  # the workers exit now, before the statistics take their own memory
        if progress is not None and done < count:
            progress(count, count)  # the rest were files that could not be used: done too
        for table in tables:
            table.freeze()
        index.aliases = acronyms_from_evidence(totals.acronyms, totals.phrases)
        _derive(index, totals)
    except BaseException:
        # Now, not whenever the exception lets go of this frame: the workers stop, and the
        # files spilled so far go.
        fresh.close()
        for holder in (*tables, totals.postings):
            holder.discard()
        raise
    return index


def _add_run(
    index: CorpusIndex,
    run: _Run,
    fresh: Iterator[AnalysedBatch],
    previous: CorpusIndex | None,
    window: tuple[int, int],
    totals: _Totals,
) -> int:
    """Add the run's documents, analysed now (the next of `fresh`) or taken from
    `previous` (in passages of `window`); how many there were."""
    documents = run.documents
    if run.reused:
        assert previous is not None
        # Their texts were left behind while the run waited (`_runs`): the same as stored,
        # if the stored bytes still match their hash (DamagedIndexError otherwise).
        for document in documents:
            previous.verify_document(document.id)
        documents = [d.model_copy(update={"text": previous.document_text(d.id)}) for d in documents]
        batch = previous.reused_batch(documents, window)
        release_pages(previous.texts.blob)  # read from the cache file: its pages go back
    else:
        batch = next(fresh)
        index.analysed_documents += len(documents)
    _add_batch(index, documents, batch, totals)
    return len(documents)


def _characters_to_read(documents: Sequence[Document], previous: CorpusIndex | None) -> int:
    return sum(
        len(d.text) for d in documents if previous is None or not previous.can_reuse(d.id, d.sha256)
    )


@dataclass
class _Run:
    """Consecutive documents, all to be read or all to be taken from the previous index."""

    documents: list[Document]
    reused: bool


def _runs(documents: Iterable[Document], previous: CorpusIndex | None) -> Iterator[_Run]:
    """The documents in order, in runs of about BATCH_CHARACTERS of text. A document taken
    from `previous` is held without its text (the same as `previous` stores), since the
    workers' look-ahead may pull many such runs at once while it looks for one to read."""
    run: _Run | None = None
    size = 0
    for document in documents:
        reused = previous is not None and previous.can_reuse(document.id, document.sha256)
        if run is None or run.reused != reused or size >= BATCH_CHARACTERS:
            if run is not None:
                yield run
            run, size = _Run([], reused), 0
        size += len(document.text)
        run.documents.append(document.model_copy(update={"text": ""}) if reused else document)
    if run is not None:
        yield run


class _Runs:
    """Runs as they come, for two readers: the build, which takes every run in order
    (`waiting`), and the workers, which are sent the texts of the runs to read, a few runs
    ahead of the build (`texts_to_read`). Only runs one of them has not finished with are
    held."""

    def __init__(self, runs: Iterator[_Run]) -> None:
        self._source = runs
        self.waiting: deque[_Run] = deque()
        self._unsent: deque[_Run] = deque()

    def pull(self) -> bool:
        """Take the next run from the source; False when there is none."""
        run = next(self._source, None)
        if run is None:
            return False
        self.waiting.append(run)
        if not run.reused:
            self._unsent.append(run)
        return True

    def texts_to_read(self) -> Iterator[list[str]]:
        while self._unsent or self.pull():
            while self._unsent:
                yield [d.text for d in self._unsent.popleft().documents]


@dataclass
class _Totals:
    """What the batches add up to, beyond their rows: the corpus statistics, gathered as each
    batch comes in, in the index's term numbering."""

    postings: FoldedChunks
    # Each numbering the batches use (one per worker process) -> the index's term ids.
    numberings: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    sentence_df: TermCounts = field(default_factory=TermCounts)
    acronyms: set[str] = field(default_factory=set)
    phrases: list[str] = field(default_factory=list)


def _add_batch(
    index: CorpusIndex, documents: list[Document], batch: AnalysedBatch, totals: _Totals
) -> None:
    first_paragraph, first_sentence, first_passage = (
        len(index.paragraphs),
        len(index.sentences),
        len(index.passages),
    )
    numbers = np.array([index.texts.add(d.id, d.text) for d in documents], dtype=np.int32)
    paragraph_doc = np.repeat(numbers, batch.paragraph_counts)
    index.paragraphs.append_rows(
        paragraph_doc,
        _numbers_within(batch.paragraph_counts) + 1,
        batch.paragraphs[:, 0],
        batch.paragraphs[:, 1],
    )
    sentence_doc = np.repeat(numbers, batch.sentence_counts)
    index.sentences.append_rows(
        sentence_doc,
        batch.sentences[:, 0],
        batch.sentences[:, 1],
        _numbers_within(batch.sentence_counts) + 1,
        batch.sentences[:, 2],
        batch.sentences[:, 3],
    )
    term_ids = _term_ids(index.sentence_tokens, batch, totals.numberings)
    index.sentence_tokens.append_rows(batch.token_counts, term_ids[batch.token_ids])
    # Passages, from positions within their document to positions in the index.
    document_start = np.cumsum(batch.sentence_counts) - batch.sentence_counts + first_sentence
    offsets = np.repeat(document_start, batch.passage_counts)
    index.passages.append_rows(
        np.repeat(numbers, batch.passage_counts),
        batch.passages[:, 0] + offsets,
        batch.passages[:, 1] + offsets,
        batch.passages[:, 0] + 1,
        batch.passages[:, 1] + 1,
    )
    for chunk in batch.postings:
        totals.postings.add(chunk.renumbered(term_ids, first_passage))
    totals.sentence_df.add(term_ids[batch.sentence_df[0]], batch.sentence_df[1])
    totals.acronyms |= batch.acronyms
    totals.phrases += batch.phrases
    paragraph_spans = _spans(first_paragraph, batch.paragraph_counts)
    sentence_spans = _spans(first_sentence, batch.sentence_counts)
    passage_spans = _spans(first_passage, batch.passage_counts)
    for i, document in enumerate(documents):
        index.spans[document.id] = DocumentSpan(
            document=document.model_copy(update={"text": ""}),
            number=int(numbers[i]),
            paragraphs=paragraph_spans[i],
            sentences=sentence_spans[i],
            passages=passage_spans[i],
        )


def _positions(spans: Iterable[range]) -> np.ndarray:
    return np.concatenate([np.arange(span.start, span.stop) for span in spans])


def _term_ids(
    tokens: TokenTable, batch: AnalysedBatch, numberings: dict[tuple[int, int], np.ndarray]
) -> np.ndarray:
    """The index's id for each term of the batch's numbering. Terms new to that numbering
    are numbered in the index in the order they first appear in the batch (if new here too),
    so the index numbers terms in order of first appearance, whichever worker read them."""
    known = numbers = numberings.get(batch.numbering, np.zeros(0, dtype=np.int32))
    if batch.new_terms:
        first = batch.first_new_term
        assert len(known) == first, "a numbering's batches arrive in the order it made them"
        numbers = np.empty(first + len(batch.new_terms), dtype=np.int32)
        numbers[:first] = known
        in_order = batch.new_in_order
        new_terms = batch.new_terms
        numbers[in_order] = tokens.number_terms([new_terms[i] for i in (in_order - first).tolist()])
        numberings[batch.numbering] = numbers
    return numbers


def _spans(start: int, counts: np.ndarray) -> list[range]:
    """Consecutive ranges of these sizes, the first beginning at `start`."""
    bounds = [start, *(start + np.cumsum(counts)).tolist()]
    return [range(a, b) for a, b in itertools.pairwise(bounds)]


def _numbers_within(counts: np.ndarray) -> np.ndarray:
    """0, 1, … within each group of these sizes: [2, 3] -> [0, 1, 0, 1, 2]."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


def _derive(index: CorpusIndex, totals: _Totals) -> None:
    tokens = index.sentence_tokens
    index.sentence_df = totals.sentence_df.of(len(tokens.terms))
    index.average_sentence_length = max(tokens.total() / max(len(index.sentences), 1), 1.0)
    if tokens.total():
        index.retriever = build_retriever(
            tokens, index.passages, index.passage_tokens(), index.config, totals.postings
        )
    elif index.spans:
        _log.warning("The corpus has no searchable words; every question will go unanswered.")
