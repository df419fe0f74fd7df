"""The meaning stage of one index: its sentences' and articles' vectors, and the question's.

Vectors come from the shared store (corpus/meaning/store.py) when the text was ever encoded,
and are otherwise encoded here:

- a collection of up to AHEAD_LIMIT sentences is encoded ahead: at once when only a few are
  missing (an article just added), otherwise by a background thread, in small batches, while
  answers go on; each article's headline and lead are encoded first, for finding the article;
- until then, and always for bigger collections, the candidates of a question that have no
  vector yet are encoded when it is asked, the QUESTION_TIME_LIMIT best by their words, and
  kept for next time.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from ..arrays import sorted_unique
from ..indexing.index import CorpusIndex, DocumentSpan
from ..ingest.loader import title_from_file_name
from .encoder import Encoder
from .limits import AHEAD_LIMIT, QUESTION_TIME_LIMIT, QUESTION_WAIT_SECONDS
from .store import VectorStore, text_key

__all__ = ["AHEAD_LIMIT", "QUESTION_TIME_LIMIT", "Meaning"]

log = logging.getLogger(__name__)

# Encoded at once when a collection opens with at most this many sentences missing (about a
# second): a new article is answered with the model straight away.
AT_ONCE_LIMIT = 48
# Sentences encoded per batch of the background build, and how often it saves its work. A
# batch also stops at BATCH_CHARACTERS (about 16 news sentences), since a question that needs
# the encoder waits for the batch in progress: 16 articles' leads, or sentences of long
# made-up words, took 8 s a batch.
BATCH = 16
BATCH_CHARACTERS = 2_400
SAVE_SECONDS = 20.0
# Characters of an article's headline and lead encoded together, for finding the article.
LEAD_CHARS = 600


class Meaning:
    """Vectors for one index's sentences and articles, from the store or encoded on demand."""

    def __init__(
        self,
        index: CorpusIndex,
        encoder: Encoder,
        store: VectorStore,
        *,
        ahead: bool = True,
        question_time_limit: int | None = QUESTION_TIME_LIMIT,
        question_wait: float = QUESTION_WAIT_SECONDS,
    ) -> None:
        """`ahead=False` never encodes ahead, and `question_time_limit=None` encodes every
        candidate of a question (for measuring: the same answers as a collection encoded
        ahead, without encoding sentences no question reaches). A question that would wait
        more than `question_wait` seconds for the encoder goes without it (`question_turn`)."""
        self.index = index
        self.encoder = encoder
        self.store = store
        self.question_time_limit = question_time_limit
        self.question_wait = question_wait
        count = len(index.sentences)
        self.ahead = ahead and count <= AHEAD_LIMIT
        # Per sentence: its text's key (0 until computed) and its row in the store (-1: none).
        self._keys = np.zeros(count, dtype=np.uint64)
        self._rows = np.full(count, -1, dtype=np.int64)
        self._doc_ids = list(index.spans)
        self._article_rows = np.full(len(self._doc_ids), -1, dtype=np.int64)
        self._doc_number = {doc: i for i, doc in enumerate(self._doc_ids)}
        self._titles: dict[int, str] = {}  # by the document's number in the index's texts
        self._articles: np.ndarray | None = None  # every article's vector, once all are known
        # What this process encoded for this index, and the seconds it took.
        self.encoded = 0
        self.encoding_seconds = 0.0
        self._builder: threading.Thread | None = None
        self._stop = threading.Event()
        self.question_vector = functools.lru_cache(maxsize=1024)(self._question_vector)
        if self.ahead or len(self._doc_ids) <= AHEAD_LIMIT // 10:
            self._look_up_articles()
        if self.ahead:
            self._look_up(np.arange(count))

    # -- what answers read --------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """Every sentence and article has its vector."""
        return bool((self._rows >= 0).all() and (self._article_rows >= 0).all())

    def question_turn(self) -> contextlib.AbstractContextManager[bool]:
        """For one question's answer: whether it may use the encoder (False when the
        questions using it now would keep this one waiting more than `question_wait`)."""
        return self.encoder.question_turn(self.question_wait)

    def missing(self) -> int:
        return int((self._rows < 0).sum() + (self._article_rows < 0).sum()) if self.ahead else 0

    def _question_vector(self, text: str) -> np.ndarray:
        return self.encoder.encode_questions([text])[0]

    def sentence_vectors(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(len, dim) float32 vectors of these sentences and which ones are known (the rest
        are zero)."""
        rows = self._rows_at(positions)
        known = rows >= 0
        vectors = np.zeros((len(positions), self.encoder.dimension), dtype=np.float32)
        if known.any():
            vectors[known] = self.store.vectors(rows[known])
        return vectors, known

    def encode_sentences(
        self, positions: np.ndarray, *, characters: int | None = None, background: bool = False
    ) -> None:
        """Encode those of these sentences that have no vector yet (the caller bounds how
        many). With `characters`, a question waits: they are taken in the order given while
        their texts fit in that many characters (the first always), and the rest stay
        without a vector, which answers allow for. `background` work gives way to questions
        (the encoder starts it only while no question is waiting)."""
        positions = positions[self._rows_at(positions) < 0]
        texts = [self.passage(p) for p in positions.tolist()]
        if characters is not None:
            total, fit = 0, 0
            for text in texts:
                total += len(text)
                if fit and total > characters:
                    break
                fit += 1
            positions, texts = positions[:fit], texts[:fit]
        if len(positions):
            vectors = self._encode(texts, background=background)
            self._rows[positions] = self.store.add(self._keys[positions], vectors)
            if not self.building:
                self.store.save_soon()  # a build saves as it goes

    def article_vectors(self, doc_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of these articles' headline and lead, encoding the missing ones."""
        numbers = np.array([self._doc_number[d] for d in doc_ids], dtype=np.int64)
        missing = numbers[self._article_rows[numbers] < 0]
        if len(missing):
            self._encode_articles(sorted_unique(missing))
        rows = self._article_rows[numbers]
        return self.store.vectors(rows), rows >= 0

    def closest_articles(self, question: np.ndarray, count: int) -> list[str]:
        """The articles whose headline and lead are closest to the question, when every
        article has its vector (an empty list otherwise)."""
        if self._articles is None:
            if not len(self._article_rows) or (self._article_rows < 0).any():
                return []
            # Every article has its vector now, for good: converted once, not per question.
            self._articles = self.store.vectors(self._article_rows)
        similarity = self._articles @ question
        best = np.argsort(-similarity)[:count]
        return [self._doc_ids[i] for i in best.tolist()]

    # -- building ahead ------------------------------------------------------------------

    def prepare(self) -> None:
        """Encode now when little is missing; otherwise start the background build."""
        if not self.ahead:
            if (self._article_rows < 0).sum() > AT_ONCE_LIMIT:
                self.start_background()
            elif (self._article_rows < 0).any():
                self.build(sentences=False)
            return
        missing = self.missing()
        if missing == 0:
            return
        if missing <= AT_ONCE_LIMIT:
            self.build()
        else:
            self.start_background()

    def build(
        self, progress: Callable[[int, int], None] | None = None, *, sentences: bool = True
    ) -> None:
        """Encode every missing article and (if `sentences` and this collection is encoded
        ahead) sentence, in batches, saving as it goes."""
        missing_articles = np.flatnonzero(self._article_rows < 0)
        for batch in _batches(missing_articles, self._article_texts):
            if self._stop.is_set():
                break
            self._encode_articles(batch, background=True)
        sentences = sentences and self.ahead
        missing = np.flatnonzero(self._rows < 0) if sentences else np.zeros(0, np.int64)
        saved_at = time.monotonic()
        done = 0
        try:
            for batch in _batches(missing, self._passages):
                if self._stop.is_set():
                    break
                self.encode_sentences(batch, background=True)
                done += len(batch)
                if progress is not None:
                    progress(done, len(missing))
                if time.monotonic() - saved_at > SAVE_SECONDS:
                    self.store.save()
                    saved_at = time.monotonic()
        finally:
            self.store.save()  # what was encoded is kept, even when interrupted

    def start_background(self) -> None:
        if self._builder is not None and self._builder.is_alive():
            return
        self._builder = threading.Thread(
            target=self._build_in_background, name="quotebot-vectors", daemon=True
        )
        self._builder.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop a background build after its current batch (what it did is saved)."""
        self._stop.set()
        if self._builder is not None:
            self._builder.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background build to finish; whether it has."""
        if self._builder is not None:
            self._builder.join(timeout)
        return not self.building

    def resume(self) -> None:
        """Allow building again after `stop`."""
        self._stop.clear()

    @property
    def building(self) -> bool:
        return self._builder is not None and self._builder.is_alive()

    def _build_in_background(self) -> None:
        started = time.monotonic()
        try:
            self.build()
        except Exception as error:  # the answers go on with words alone
            log.warning("Encoding the sentences in the background failed: %s", error)
            log.debug("The background encoding's traceback", exc_info=True)
            return
        if not self._stop.is_set() and self.ahead:
            log.info("Sentence vectors ready in %.0f s", time.monotonic() - started)

    # -- keys and rows -------------------------------------------------------------------

    def _rows_at(self, positions: np.ndarray) -> np.ndarray:
        unknown = positions[self._keys[positions] == 0]
        if len(unknown):
            self._look_up(unknown)
        return self._rows[positions]

    def _look_up(self, positions: np.ndarray) -> None:
        keys = np.fromiter((text_key(self.passage(p)) for p in positions.tolist()), np.uint64)
        self._keys[positions] = keys
        self._rows[positions] = self.store.rows_of(keys)

    def passage(self, position: int) -> str:
        """What is encoded for a sentence: its article's headline, then the sentence. Later
        sentences say "the company" or "the town"; with the headline before them, the
        encoder knows which, and the sentence that holds the fact asked about wins over the
        lead that merely names the subject (measured on our short-article sets, the encoder
        alone put the right sentence first for 0.51 → 0.65, 0.45 → 0.52 and 0.45 → 0.48 of
        the questions; over the BBC archive 0.53 → 0.56)."""
        sentence = self.index.sentences.text(position)
        doc = int(self.index.sentences.column("doc")[position])
        if doc not in self._titles:
            self._titles[doc] = self._title(self.index.spans[self.index.texts.ids[doc]])
        title = self._titles[doc]
        return f"{title}. {sentence}" if title and title != sentence else sentence

    def _title(self, span: DocumentSpan) -> str:
        headline, _ = self._headline(span)
        if headline is not None:
            return headline
        title = span.document.title or ""
        # A name made from the file's ("D12" for d12.txt) says nothing about the article.
        return "" if title == title_from_file_name(span.document.id) else title

    def _headline(self, span: DocumentSpan) -> tuple[str | None, range]:
        """The article's headline sentence (None without one) and the sentences below it."""
        from ..answering.features import is_headline  # the features import this module

        sentences = span.sentences
        if len(sentences) and is_headline(self.index, sentences.start):
            return self.index.sentences.text(sentences.start), sentences[1:]
        return None, sentences

    def _article_texts(self, numbers: np.ndarray) -> list[str]:
        texts = []
        for number in numbers.tolist():
            span = self.index.spans[self._doc_ids[number]]
            headline, sentences = self._headline(span)
            title = headline if headline is not None else span.document.title or ""
            lead = " ".join(self.index.sentences.text(p) for p in sentences[:3])
            texts.append(f"{title}. {lead}"[:LEAD_CHARS] if title else lead[:LEAD_CHARS])
        return texts

    def _look_up_articles(self) -> None:
        numbers = np.arange(len(self._doc_ids))
        keys = np.fromiter((text_key(t) for t in self._article_texts(numbers)), np.uint64)
        self._article_rows = self.store.rows_of(keys)

    def _passages(self, positions: np.ndarray) -> list[str]:
        return [self.passage(p) for p in positions.tolist()]

    def _encode_articles(self, numbers: np.ndarray, *, background: bool = False) -> None:
        texts = self._article_texts(numbers)
        keys = np.fromiter((text_key(t) for t in texts), np.uint64, len(texts))
        vectors = self._encode(texts, background=background)
        self._article_rows[numbers] = self.store.add(keys, vectors)

    def _encode(self, texts: list[str], *, background: bool = False) -> np.ndarray:
        started = time.perf_counter()
        vectors = self.encoder.encode_passages(texts, background=background)
        self.encoding_seconds += time.perf_counter() - started
        self.encoded += len(texts)
        return vectors


def _batches(
    items: np.ndarray, texts_of: Callable[[np.ndarray], list[str]]
) -> Iterator[np.ndarray]:
    """`items` in order, in batches of at most BATCH that hold at most BATCH_CHARACTERS of text
    (`texts_of` gives the texts of some items), but never less than one item."""
    start = 0
    while start < len(items):
        candidates = items[start : start + BATCH]
        size, characters = 0, 0
        for text in texts_of(candidates):
            characters += len(text)
            if size and characters > BATCH_CHARACTERS:
                break
            size += 1
        yield candidates[:size]
        start += size
