"""Reading documents into table rows: stages 2 to 4 (segment, tokenise, window) for a batch of
documents at once, and the corpus statistics each batch contributes.

This is the slow part of a build, and the part that runs in parallel: a big build hands
batches of documents to worker processes (`analysed_batches`), and the index only appends
what comes back. A batch travels as a few numpy arrays plus the terms its worker had not met
before, never as millions of Python strings, so sending it back costs little. Term ids are
the worker's own (one numbering per worker, kept across its batches); the index maps them to
its own (corpus/indexing/index.py), numbering terms in order of first appearance in the corpus, as
rank-bm25's IDF needs.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..ingest.segment import segment_text
from ..tokenize import TermNumbering
from .acronyms import capitalised_runs
from .bm25 import PostingChunk, fold_passages
from .passages import window_bounds

if TYPE_CHECKING:  # worker processes are imported for builds only, not to answer
    import multiprocessing.context
    from concurrent.futures import Future

__all__ = ["AnalysedBatch", "analyse_batch", "analysed_batches", "build_workers"]

# Documents are sent to workers in batches of about this much text: big enough that the
# per-batch costs (the term list, the process hop) vanish, small enough to keep both cores
# busy to the end and memory flat.
BATCH_CHARACTERS = 4_000_000
# Below this much text to read, worker processes cost more to start than they save
# (corpus/indexing/index.py decides).
PARALLEL_CHARACTERS = 20_000_000


@dataclass
class AnalysedBatch:
    """Table rows for consecutive documents. Offsets are characters in each document's text;
    sentence and passage numbers count from 0 within their document.

    Term ids are those of the numbering named by `numbering` (one per worker process, kept
    across its batches). `new_terms` are the terms that numbering gained with this batch,
    numbered from `first_new_term`, and `new_in_order` the same ids in order of first
    appearance in the batch: all the index needs to map the numbering onto its own, in order
    of first appearance, without the batch carrying every term it uses as a string."""

    numbering: tuple[int, int]
    first_new_term: int
    new_terms: list[str]
    new_in_order: np.ndarray
    paragraph_counts: np.ndarray  # per document
    paragraphs: np.ndarray  # (paragraphs, 2): start, end
    sentence_counts: np.ndarray  # per document
    sentences: np.ndarray  # (sentences, 4): paragraph number, number in it (from 1), start, end
    token_counts: np.ndarray  # per sentence
    token_ids: np.ndarray  # every sentence's tokens
    sentence_df: tuple[np.ndarray, np.ndarray]  # (term ids, sentences holding each)
    passage_counts: np.ndarray  # per document
    passages: np.ndarray  # (passages, 2): first and last sentence, within the document
    postings: list[PostingChunk]  # the passages' terms folded for BM25
    acronyms: set[str]  # acronym words (tokenize.acronym_words), folded
    phrases: list[str]  # runs of capitalised words that may spell them out


class _Numbering:
    """A term numbering that outlives batches, and how much of it has been handed out."""

    made = 0

    def __init__(self) -> None:
        _Numbering.made += 1
        self.key = (os.getpid(), _Numbering.made)
        self.numbering = TermNumbering()
        self.sent = 0


# A worker process's numbering, made fresh when the worker starts (`_start_worker`).
_worker_numbering: _Numbering | None = None
# A numbering that has grown this big is started afresh (between batches), so that a worker
# that reads a vast, varied corpus does not grow without bound.
_NUMBERING_LIMIT = 2_000_000


def _start_worker() -> None:
    global _worker_numbering
    _worker_numbering = _Numbering()
    # Ctrl-C reaches the whole process group: the parent stops the build and cleans up; a
    # worker's own KeyboardInterrupt would only print a second traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _analyse_in_worker(texts: list[str], window: tuple[int, int]) -> AnalysedBatch:
    global _worker_numbering
    if _worker_numbering is None or len(_worker_numbering.numbering.terms) >= _NUMBERING_LIMIT:
        _worker_numbering = _Numbering()
    return analyse_batch(texts, window, _worker_numbering)


def analyse_batch(
    texts: list[str], window: tuple[int, int], numbering: _Numbering | None = None
) -> AnalysedBatch:
    """The rows of these documents, passages of `window` (sentences, overlap). Terms get
    `numbering`'s numbers (a new numbering's if none)."""
    numbering = numbering or _Numbering()
    paragraph_counts, sentence_counts = [], []
    paragraph_rows: list[tuple[int, int]] = []
    sentence_rows: list[tuple[int, int, int, int]] = []
    sentence_texts: list[str] = []
    phrases: list[str] = []
    for text in texts:
        paragraphs, sentences = segment_text(text)
        paragraph_counts.append(len(paragraphs))
        sentence_counts.append(len(sentences))
        paragraph_rows += paragraphs
        sentence_rows += sentences
        sentence_texts += [text[start:end] for _, _, start, end in sentences]
        phrases += capitalised_runs(text)
    token_ids, token_counts, acronyms = numbering.numbering.tokenize_many(sentence_texts)
    first_new = numbering.sent
    new_terms = numbering.numbering.terms[first_new:]
    numbering.sent += len(new_terms)
    return batch_from_rows(
        numbering=numbering.key,
        first_new_term=first_new,
        new_terms=new_terms,
        paragraph_counts=np.asarray(paragraph_counts, dtype=np.int32),
        paragraphs=np.asarray(paragraph_rows, dtype=np.int32).reshape(-1, 2),
        sentence_counts=np.asarray(sentence_counts, dtype=np.int32),
        sentences=np.asarray(sentence_rows, dtype=np.int32).reshape(-1, 4),
        token_counts=token_counts,
        token_ids=token_ids,
        window=window,
        acronyms=acronyms,
        phrases=phrases,
    )


def batch_from_rows(
    *,
    numbering: tuple[int, int],
    first_new_term: int,
    new_terms: list[str],
    paragraph_counts: np.ndarray,
    paragraphs: np.ndarray,
    sentence_counts: np.ndarray,
    sentences: np.ndarray,
    token_counts: np.ndarray,
    token_ids: np.ndarray,
    window: tuple[int, int],
    acronyms: set[str],
    phrases: list[str],
) -> AnalysedBatch:
    """The batch, with what follows from its rows: passages, their postings, sentence
    frequencies, and the order its new terms first appear in. Also used for documents taken
    unchanged from an earlier index."""
    pointers = np.zeros(len(token_counts) + 1, dtype=np.int64)
    np.cumsum(token_counts, out=pointers[1:])
    passage_counts, passages = _windows(sentence_counts, *window)
    # Passage bounds as positions in the batch's sentence list, for slicing its tokens.
    sentence_offsets = np.repeat(np.cumsum(sentence_counts) - sentence_counts, passage_counts)
    firsts = passages[:, 0] + sentence_offsets
    lasts = passages[:, 1] + sentence_offsets
    return AnalysedBatch(
        numbering=numbering,
        first_new_term=first_new_term,
        new_terms=new_terms,
        new_in_order=_first_appearances(token_ids, first_new_term),
        paragraph_counts=paragraph_counts,
        paragraphs=paragraphs,
        sentence_counts=sentence_counts,
        sentences=sentences,
        token_counts=token_counts.astype(np.int32),
        token_ids=token_ids,
        sentence_df=_sentence_frequencies(token_ids, pointers),
        passage_counts=passage_counts,
        passages=passages,
        postings=fold_passages(token_ids, pointers[firsts], pointers[lasts + 1]),
        acronyms=acronyms,
        phrases=phrases,
    )


def _first_appearances(ids: np.ndarray, first: int) -> np.ndarray:
    """The distinct ids from `first` on, in order of first appearance in `ids`."""
    new = ids[ids >= first]
    distinct, where = np.unique(new, return_index=True)
    return distinct[np.argsort(where, kind="stable")]


def _windows(sentence_counts: np.ndarray, size: int, overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """Passages per document, and each passage's (first, last) sentence in its document."""
    bounds = [window_bounds(count, size, overlap) for count in sentence_counts.tolist()]
    counts = np.fromiter(map(len, bounds), dtype=np.int32, count=len(bounds))
    flat = [pair for document in bounds for pair in document]
    return counts, np.asarray(flat, dtype=np.int32).reshape(-1, 2)


def _sentence_frequencies(ids: np.ndarray, pointers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(term ids, in how many sentences each occurs): a term twice in a sentence counts once."""
    sentence = np.repeat(np.arange(len(pointers) - 1, dtype=np.int64), np.diff(pointers))
    pairs = np.sort((sentence << 32) | ids.astype(np.int64))  # beats numpy's hashing unique
    if len(pairs):
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    counts = np.bincount(pairs & 0xFFFFFFFF)
    present = np.flatnonzero(counts).astype(np.int32)
    return present, counts[present]


def build_workers() -> int:
    """Worker processes for a big build: one per core this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def analysed_batches(
    batches: Iterable[list[str]], window: tuple[int, int], *, workers: int
) -> Iterator[AnalysedBatch]:
    """Each batch of texts analysed, in order. With more than one worker, batches are
    analysed in worker processes, a few ahead of the one being consumed, so that memory
    holds only those in flight (the texts too: `batches` is read as they are needed)."""
    if workers <= 1:
        numbering = _Numbering()  # one for this build, in this process
        for texts in batches:
            yield analyse_batch(texts, window, numbering)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(
        workers, mp_context=_process_context(), initializer=_start_worker
    ) as pool:
        upcoming = iter(batches)
        pending: deque[Future[AnalysedBatch]] = deque(
            pool.submit(_analyse_in_worker, texts, window)
            for texts in itertools.islice(upcoming, 2 * workers)
        )
        while pending:
            result = pending.popleft().result()
            for texts in itertools.islice(upcoming, 1):  # keep the workers fed
                pending.append(pool.submit(_analyse_in_worker, texts, window))
            yield result


def _process_context() -> multiprocessing.context.BaseContext:
    """Fork when this process runs one thread: quickest, and nothing is imported again.
    Otherwise spawn (the bot reloads its index from a worker thread, and a fork copies any
    lock another thread holds at that moment)."""
    import multiprocessing

    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")
