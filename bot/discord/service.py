"""The corpus as the Discord bot uses it: answers off the event loop, fairly, and hot reloads.

Retrieval is CPU work; run on the event loop it would stall heartbeats on a large corpus, so
every call goes to a worker thread. Questions and summaries have threads of their own, so
however many summaries members ask for, a question never waits behind them; summaries are
remembered per index, length and topic, each member has at most one on the way, and at most
`MAX_QUEUED_SUMMARIES` wait at once. Every request has a time budget: past it the member is
told so (the work still finishes, and a summary is then remembered for the next ask). A reload
builds the new index in a thread and swaps it in whole, so a question never sees half an index.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from corpus import Corpus
from corpus.models import Answer, IndexConfig, Summary, SummaryLength

__all__ = ["CorpusService", "PinnedAnswer", "RequestRefused"]

_log = logging.getLogger(__name__)
T = TypeVar("T")

# Threads answering questions; summaries have one thread of their own.
QUESTION_THREADS = 2
MAX_QUEUED_SUMMARIES = 4
SUMMARIES_REMEMBERED = 64
REQUEST_SECONDS = 20.0


@dataclass(frozen=True)
class PinnedAnswer:
    """An answer with the corpus it came from, as it was then."""

    answer: Answer
    corpus: Corpus


class RequestRefused(Exception):
    """The bot will not take this request now; the message says why, for the member."""


class CorpusService:
    def __init__(
        self,
        corpus: Corpus,
        *,
        seeds_dir: Path,
        cache_dir: Path | None,
        config: IndexConfig,
        max_question_chars: int,
    ) -> None:
        self.corpus = corpus
        self.seeds_dir = seeds_dir
        self.cache_dir = cache_dir
        self.config = config
        self.max_question_chars = max_question_chars
        self.request_seconds = REQUEST_SECONDS
        self._reload_lock = asyncio.Lock()
        self._questions = ThreadPoolExecutor(QUESTION_THREADS, thread_name_prefix="question")
        self._summaries = ThreadPoolExecutor(1, thread_name_prefix="summary")
        self._remembered: OrderedDict[tuple, Summary] = OrderedDict()
        self._summarising: set[int] = set()  # members with a summary on the way
        self._in_flight: dict[tuple, asyncio.Future[Summary]] = {}  # at most one per key

    @classmethod
    def open(
        cls,
        seeds_dir: Path,
        *,
        cache_dir: Path | None,
        config: IndexConfig | None = None,
        max_question_chars: int,
    ) -> CorpusService:
        config = config or IndexConfig()
        corpus = Corpus.open(
            seeds_dir, cache_dir=cache_dir, config=config, max_question_chars=max_question_chars
        )
        service = cls(
            corpus,
            seeds_dir=seeds_dir,
            cache_dir=cache_dir,
            config=config,
            max_question_chars=max_question_chars,
        )
        service._report_problems()
        return service

    def _report_problems(self) -> None:
        for problem in self.corpus.problems:
            _log.warning("Skipped %s", problem)

    async def ask(self, question: str, *, top: int = 3) -> PinnedAnswer:
        """The answer, with the index it came from: a reload meanwhile must not change what
        its citations and its "Show context" button point at."""
        corpus = self.corpus

        def work() -> PinnedAnswer:
            answer = corpus.ask(question, top=top)
            # A copy holding this index: a reload or a rebuild after damage swaps the live
            # corpus's index, and the answer's citations must keep pointing into this one.
            return PinnedAnswer(answer, dataclasses.replace(corpus))

        loop = asyncio.get_running_loop()
        return await self._within_budget(loop.run_in_executor(self._questions, work), "question")

    async def find_paragraphs(self, text: str, limit: int) -> list:
        corpus = self.corpus
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self._questions, lambda: corpus.find_paragraphs(text, limit))
        return await self._within_budget(work, "search")

    async def summarize(
        self, *, length: SummaryLength, topic: str | None, user_id: int = 0
    ) -> Summary:
        corpus = self.corpus
        key = (
            corpus.index.content_hash,
            length,
            " ".join((topic or "").casefold().split()),
        )
        if key in self._remembered:
            self._remembered.move_to_end(key)
            return self._remembered[key]
        if key in self._in_flight:  # the same summary is being made: wait for that one
            return await self._within_budget(self._in_flight[key], "summary")
        if user_id in self._summarising:
            raise RequestRefused("Your last summary is still on its way; it will be here soon.")
        if len(self._in_flight) >= MAX_QUEUED_SUMMARIES:
            raise RequestRefused(
                "I'm busy with other members' summaries. Please try again in a minute."
            )
        self._summarising.add(user_id)

        def done(finished: asyncio.Future[Summary]) -> None:
            # On the event loop, when the work ends (not when the member stops waiting): the
            # summary is kept for the next ask even if this one timed out.
            self._summarising.discard(user_id)
            self._in_flight.pop(key, None)
            if not finished.cancelled() and finished.exception() is None:
                self._remember(key, finished.result())

        future = asyncio.get_running_loop().run_in_executor(
            self._summaries, lambda: corpus.summarize(length=length, topic=topic)
        )
        self._in_flight[key] = future
        future.add_done_callback(done)
        return await self._within_budget(future, "summary")

    def _remember(self, key: tuple, summary: Summary) -> None:
        self._remembered[key] = summary
        while len(self._remembered) > SUMMARIES_REMEMBERED:
            self._remembered.popitem(last=False)

    async def _within_budget(self, future: asyncio.Future[T], what: str) -> T:
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.request_seconds)
        except TimeoutError:
            _log.warning("A %s took longer than %.0f s.", what, self.request_seconds)
            raise RequestRefused(
                f"That {what} is taking too long (over {self.request_seconds:.0f} s). "
                "Try again with fewer words, a topic, or a shorter length."
            ) from None

    def close(self) -> None:
        self._questions.shutdown(wait=False, cancel_futures=True)
        self._summaries.shutdown(wait=False, cancel_futures=True)

    async def reload(self) -> Corpus:
        """Rebuild from the seeds directory; raises CorpusError and keeps the old index if the
        seeds are unusable."""
        async with self._reload_lock:
            corpus = await asyncio.to_thread(
                Corpus.open,
                self.seeds_dir,
                cache_dir=self.cache_dir,
                config=self.config,
                max_question_chars=self.max_question_chars,
            )
            self.corpus = corpus
            self._report_problems()
            return corpus
