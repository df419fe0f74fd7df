"""The corpus as the Discord bot uses it: answers off the event loop, and hot reloads.

Retrieval is CPU work; run on the event loop it would stall heartbeats on a large corpus, so
every call goes to a worker thread. A reload builds the new index in a thread and swaps it in
whole, so a question never sees half an index.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from corpus import Corpus
from corpus.models import Answer, IndexConfig, Summary, SummaryLength

__all__ = ["CorpusService"]

_log = logging.getLogger(__name__)


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
        self._reload_lock = asyncio.Lock()

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

    async def ask(self, question: str, *, top: int = 3) -> Answer:
        return await asyncio.to_thread(self.corpus.ask, question, top=top)

    async def summarize(self, *, length: SummaryLength, topic: str | None) -> Summary:
        return await asyncio.to_thread(self.corpus.summarize, length=length, topic=topic)

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
