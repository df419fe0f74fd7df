"""The corpora as the Discord bot uses them: one per server, answered off the event loop.

Each server has its own collection of articles (`server-<id>` in the library), opened when it
is first asked; beside it, the host's articles (the seeds directory or the default collection)
are shared with every server unless the host turns that off. A question in one server only
ever sees that server's collection and the shared one, so it never quotes another server's
articles; a channel can be pinned to one article or one of the two sets.

Retrieval is CPU work; run on the event loop it would stall heartbeats on a large corpus, so
every call goes to a worker thread, and so does every database write and every fetch.
Fetches, feeds and library work (parsing, storing, indexing) share their threads fairly
between servers (bot/discord/fair.py): each server has its own queue and limit, so one
server's hanging links, slow feeds or heavy files never hold up another server's work.
Questions and summaries have threads of their own, so however many summaries members ask for,
a question never waits behind them; summaries are remembered per index, length and topic,
each member has at most one on the way, and at most `MAX_QUEUED_SUMMARIES` wait at once.
Every request has a time budget. A reload or an added article builds the new index in a
thread and swaps it in whole, so a question never sees half an index.


The service is in parts: what they share (`_service_base.py`), a server's own articles
(`_server_articles.py`) and its feeds (`_server_feeds.py`); this module composes them, and
holds reading (questions, summaries, a shared link's summary) and reloading.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from corpus import Corpus, Exchange
from corpus.models import (
    Answer,
    CorpusStats,
    IndexConfig,
    Paragraph,
    Summary,
    SummaryLength,
)
from corpus.sources import (
    DEFAULT_COLLECTION,
    POLL_INTERVAL,
    POSTING_LEASE,
    FeedStore,
    Library,
    LibraryError,
    Network,
    PollResult,
    fetch_url,
    linked_document,
)

from ..state.servers import collection_of, guild_of
from ._server_feeds import ServerFeeds
from ._service_base import (
    FEED_ROUND_SECONDS,
    FEED_THREADS,
    FEED_WORK_PER_SERVER,
    FEED_WORK_WAITING,
    FETCH_THREADS,
    FETCHES_PER_SERVER,
    FETCHES_WAITING,
    INDEX_THREADS,
    LIBRARY_THREADS,
    LIBRARY_WAITING,
    MAX_FEEDS_PER_SERVER,
    MAX_QUEUED_SUMMARIES,
    NO_ARTICLES,
    QUESTION_THREADS,
    READ_THREADS,
    READS_PER_SERVER,
    READS_WAITING,
    REQUEST_SECONDS,
    SERVER,
    SHARED,
    SUMMARIES_REMEMBERED,
    Added,
    LinkSummary,
    PinnedAnswer,
    RequestRefused,
    Scope,
    SetName,
    _key_of,
    _Open,
)
from .conversations import Conversations
from .fair import FairPool

__all__ = [
    "MAX_FEEDS_PER_SERVER",
    "NO_ARTICLES",
    "SERVER",
    "SHARED",
    "Added",
    "CorpusService",
    "LinkSummary",
    "PinnedAnswer",
    "RequestRefused",
    "Scope",
    "collection_of",
    "guild_of",
    "scope_of",
]

_log = logging.getLogger(__name__)
_OUTCOME_RANK = {"answer": 2, "closest": 1, "none": 0}


class CorpusService(ServerFeeds):
    def __init__(
        self,
        corpus: Corpus,
        *,
        seeds_dir: Path,
        cache_dir: Path | None,
        config: IndexConfig,
        max_question_chars: int,
        library: Library | None = None,
        share_host_articles: bool = True,
        private_networks: Callable[[int | None], tuple[Network, ...]] = lambda guild: (),
        feed_interval: datetime.timedelta = POLL_INTERVAL,
        posting_lease: datetime.timedelta = POSTING_LEASE,
        owns_server: Callable[[int], bool] = lambda guild_id: True,
    ) -> None:
        self.corpus = corpus  # the host's articles
        self.seeds_dir = seeds_dir
        self.cache_dir = cache_dir
        self.config = config
        self.max_question_chars = max_question_chars
        self.library = library
        self.share_host_articles = share_host_articles
        self.private_networks = private_networks  # by server (None: the host's collection)
        # Whether a server is on this process's shards: only then are its collection opened,
        # its feeds polled and their articles posted here (another process owns the rest).
        self.owns_server = owns_server
        self.posting_lease = posting_lease
        # The library collection the shared articles are (None for a plain seeds folder): its
        # feeds, read by the bot too, update the shared index.
        self.host_collection = (
            DEFAULT_COLLECTION
            if library is not None
            and seeds_dir.resolve()
            == (library.data_dir / "collections" / DEFAULT_COLLECTION).resolve()
            else None
        )
        self.feed_store = (
            FeedStore(
                library,
                private_networks=lambda name: private_networks(guild_of(name)),
                interval=feed_interval,
            )
            if library is not None
            else None
        )
        self.request_seconds = REQUEST_SECONDS
        self.feed_round_seconds = FEED_ROUND_SECONDS
        # Each member's last question in a thread, for follow-ups (in memory, briefly).
        self.conversations = Conversations()
        self._reload_lock = asyncio.Lock()
        self._questions = ThreadPoolExecutor(QUESTION_THREADS, thread_name_prefix="question")
        self._asking = 0  # questions on their way (answering, or waiting for a thread)
        self._summaries = ThreadPoolExecutor(1, thread_name_prefix="summary")
        # Each keyed by collection: changes to a server's library, one at a time; its whole
        # index catching up after them; opening its index and reading its lists; fetching
        # its links; following and polling its feeds. A slow web server or a heavy file
        # holds up neither questions nor other servers' work.
        self._writes = FairPool(
            "library", threads=LIBRARY_THREADS, per_key=1, max_waiting=LIBRARY_WAITING
        )
        self._indexing = FairPool(
            "index", threads=INDEX_THREADS, per_key=1, max_waiting=LIBRARY_WAITING
        )
        self._reads = FairPool(
            "library-read",
            threads=READ_THREADS,
            per_key=READS_PER_SERVER,
            max_waiting=READS_WAITING,
        )
        self._fetches = FairPool(
            "fetch", threads=FETCH_THREADS, per_key=FETCHES_PER_SERVER, max_waiting=FETCHES_WAITING
        )
        self._feed_polls = FairPool(
            "feeds",
            threads=FEED_THREADS,
            per_key=FEED_WORK_PER_SERVER,
            max_waiting=FEED_WORK_WAITING,
        )
        self._polling: dict[int, asyncio.Future[None]] = {}  # feed id → its poll, while on
        self._polled: list[PollResult] = []  # finished polls, until a round returns them
        self._remembered: OrderedDict[tuple, Summary] = OrderedDict()
        self._summarising: set[int] = set()  # members with a summary on the way
        self._in_flight: dict[tuple, asyncio.Future[Summary]] = {}  # at most one per key
        self._servers: dict[int, _Open] = {}
        self._opening: dict[int, asyncio.Lock] = {}
        self._pins: dict[tuple[int, int], tuple[str, str | None]] = (
            library.pins() if library is not None else {}
        )
        # Removals per server so far: an index built before one (a catch-up that was under
        # way) is never swapped in after it. Written by the server's library work only.
        self._removals: dict[int, int] = {}
        # The last change to the library this process has taken in (others' changes after
        # it are applied by follow_library).
        self._library_seen = library.last_change() if library is not None else 0
        self._changed_elsewhere: set[str] = set()  # to take in again at the next look

    @classmethod
    def open(
        cls,
        seeds_dir: Path,
        *,
        cache_dir: Path | None,
        config: IndexConfig | None = None,
        max_question_chars: int,
        **options: Any,
    ) -> CorpusService:
        """The service over the host's articles in `seeds_dir`, opened now; `options` are
        the constructor's (the library, sharing, fetching, the feed interval)."""
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
            **options,
        )
        service._report_problems(corpus)
        return service

    async def corpora(self, scope: Scope) -> list[tuple[SetName, Corpus]]:
        """The sets this request answers from, the server's own first; a pinned channel's
        set only."""
        sets: list[tuple[SetName, Corpus]] = []
        server = await self._server(scope.guild_id)
        if server is not None:
            found = (server.corpus, *server.fresh.values())
            sets.extend((SERVER, c) for c in found if c is not None)
        if self.share_host_articles:
            sets.append((SHARED, self.corpus))
        pinned = self.pin_of(scope)
        if pinned is not None:
            sets = [(name, corpus) for name, corpus in sets if name == pinned[0]]
        return sets

    async def ask(
        self,
        question: str,
        *,
        scope: Scope | None = None,
        top: int = 3,
        member: int | None = None,
        replying_to: int | None = None,
    ) -> PinnedAnswer:
        """The best answer from the sets the request sees, with the corpus it came from: a
        reload meanwhile must not change what its citations and its "Show context" button
        point at. A follow-up is read with the answer it replies to (`replying_to`, a
        message id), or in a thread, with the `member`'s last question there."""
        scope = scope or Scope(None)
        self._asking += 1
        try:
            return await self._within_budget(
                asyncio.ensure_future(self._ask(question, scope, top, member, replying_to)),
                "question",
                queued=lambda: self._asking > QUESTION_THREADS,
            )
        finally:
            self._asking -= 1

    @property
    def busy(self) -> bool:
        """Whether a question asked now would wait for a thread (every answering thread has
        one already): it is then acknowledged at once, not after a second of waiting, for a
        process busy answering may take that long just to get round to acknowledging."""
        return self._asking >= QUESTION_THREADS

    async def _ask(
        self, question: str, scope: Scope, top: int, member: int | None, replying_to: int | None
    ) -> PinnedAnswer:
        sets = await self.corpora(scope)
        pinned = self.pin_of(scope)
        doc_id = pinned[1] if pinned else None
        # In a thread: the member's own last exchange there, for a follow-up.
        in_thread = scope.parent_id is not None and scope.channel_id is not None
        talk = (scope.channel_id, member) if in_thread and member is not None else None
        replied = (
            self.conversations.of_answer(scope.channel_id, replying_to)
            if replying_to and scope.channel_id is not None
            else None
        )
        previous = replied or (self.conversations.last(*talk) if talk else None)

        def work() -> PinnedAnswer:
            answers = []
            for _, corpus in sets:
                if doc_id is not None and doc_id not in corpus.index.spans:
                    continue  # pinned to an article this part of the set does not hold
                answer = corpus.ask(question, top=top, doc_id=doc_id, previous=previous)
                # A copy holding this index: a reload or a rebuild after damage swaps the
                # live corpus's index, and the answer must keep pointing into this one.
                answers.append(PinnedAnswer(answer, dataclasses.replace(corpus)))
            if not answers:
                raise LibraryError(f"The article “{doc_id}” this channel is pinned to is gone.")
            best = max(answers, key=lambda p: _strength(p.answer))
            if talk:
                self.conversations.remember(*talk, Exchange.of(best.answer))
            return best

        if not sets:
            raise LibraryError(NO_ARTICLES)
        return await self._in_thread(self._questions, work)

    async def find_paragraphs(
        self, text: str, limit: int, *, scope: Scope | None = None
    ) -> list[tuple[SetName, Paragraph, str]]:
        """Paragraphs for a picker, with their text (read in the worker, not on the loop)."""
        sets = await self.corpora(scope or Scope(None))

        def work() -> list[tuple[SetName, Paragraph, str]]:
            found = []
            for name, corpus in sets:
                found.extend(
                    (name, p, corpus.paragraph_text(p)) for p in corpus.find_paragraphs(text, limit)
                )
            return found[:limit]

        return await self._within_budget(self._in_thread(self._questions, work), "search")

    async def corpus_holding(self, name: str, doc_id: str, scope: Scope) -> Corpus | None:
        """The corpus of set `name` that holds the document, if any."""
        for set_name, corpus in await self.corpora(scope):
            if set_name == name and doc_id in corpus.index.spans:
                return corpus
        return None

    async def corpus_with_hash(self, prefix: str, scope: Scope) -> Corpus | None:
        """The set (as it is now) whose index an answer's button names."""
        for _, corpus in await self.corpora(scope):
            if corpus.index.content_hash.startswith(prefix):
                return corpus
        return None

    async def about(self, scope: Scope) -> list[tuple[SetName, CorpusStats]]:
        """Each set's statistics (a server's just-added articles counted in its own)."""
        sets = await self.corpora(scope)

        def work() -> list[tuple[SetName, CorpusStats]]:
            merged: dict[SetName, CorpusStats] = {}
            for name, corpus in sets:
                stats = corpus.stats()  # a pass over the articles: not on the event loop
                merged[name] = _combined(merged[name], stats) if name in merged else stats
            return list(merged.items())

        return await self._in_thread(self._reads, work, key=_key_of(scope.guild_id))

    async def summarize(
        self,
        *,
        length: SummaryLength,
        topic: str | None,
        user_id: int = 0,
        scope: Scope | None = None,
    ) -> Summary:
        """A summary of the server's own articles when it has some (else the shared ones), or
        of the article a channel is pinned to."""
        scope = scope or Scope(None)
        sets = await self.corpora(scope)
        if not sets:
            raise LibraryError(NO_ARTICLES)
        pinned = self.pin_of(scope)
        doc_id = pinned[1] if pinned else None
        holding = [c for _, c in sets if doc_id is None or doc_id in c.index.spans]
        if not holding:
            raise LibraryError(f"The article “{doc_id}” this channel is pinned to is gone.")
        corpus = holding[0]
        key = (
            corpus.index.content_hash,
            length,
            " ".join((topic or "").casefold().split()),
            doc_id,
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

        future = self._in_thread(
            self._summaries, lambda: corpus.summarize(length=length, topic=topic, doc_id=doc_id)
        )
        self._in_flight[key] = future
        future.add_done_callback(done)
        return await self._within_budget(future, "summary")

    def _remember(self, key: tuple, summary: Summary) -> None:
        self._remembered[key] = summary
        while len(self._remembered) > SUMMARIES_REMEMBERED:
            self._remembered.popitem(last=False)

    async def summarise_link(self, guild_id: int | None, member: int, url: str) -> LinkSummary:
        """A short summary of the page at `url`, in its own sentences, without adding it to
        any collection: fetched on the server's share of the fetch threads (through the same
        guarded fetcher as /article add), read and summarised on its share of the reading
        threads (heavy formats in a child process), within the request's time budget. In
        direct messages, each member has a share of their own."""
        key = _key_of(guild_id) if guild_id is not None else f"(member {member})"
        fetched = await self._within_budget(
            self._in_thread(
                self._fetches,
                lambda: fetch_url(url, private_networks=self.private_networks(guild_id)),
                key=key,
            ),
            "link",
        )

        def work() -> LinkSummary:
            document = linked_document(fetched)
            corpus = Corpus.of_documents(
                [document],
                config=self.config,
                max_question_chars=self.max_question_chars,
                encoder=False,  # no vectors for a page nobody asks
            )
            summary = corpus.summarize(length="short")
            return LinkSummary(summary, document.title, fetched.url, document.source)

        return await self._within_budget(self._in_thread(self._reads, work, key=key), "summary")

    def close(self) -> None:
        for pool in (self._questions, self._summaries):
            pool.shutdown(wait=False, cancel_futures=True)
        for fair in (self._writes, self._indexing, self._reads, self._fetches, self._feed_polls):
            fair.shutdown()
        # The library stays open: a worker still finishing its item (a fetch may hang until
        # its deadline) must not meet a closed database; its connections end with the process.

    async def reload(self, *, keep_servers: bool = False) -> Corpus:
        """Rebuild the shared articles from their directory (reading only changed files), and
        unless `keep_servers`, forget the servers' indexes (each is opened again, from its
        cache, when next asked); raises CorpusError and keeps the old index if the seeds are
        unusable."""
        async with self._reload_lock:
            corpus = await asyncio.to_thread(self._open_host)
            replaced, self.corpus = self.corpus, corpus
            replaced.close()
            if not keep_servers:
                for server in self._servers.values():
                    for opened in (server.corpus, *server.fresh.values()):
                        if opened is not None:
                            opened.close()
                self._servers.clear()  # their fresh articles are in the indexes opened next
            self._report_problems(corpus)
            return corpus

    def _open_host(self) -> Corpus:
        """The shared articles' index; in a library collection, brought up to date first
        (with a shared database, this machine's copy of it)."""
        if self.library is not None and self.host_collection is not None:
            self.library.seeds_dir(self.host_collection)
        return self._opened(self.seeds_dir)


def scope_of(interaction: Any) -> Scope:
    """The scope of a Discord interaction (duck-typed: this module never imports discord)."""
    parent = getattr(interaction.channel, "parent_id", None)
    return Scope(interaction.guild_id, interaction.channel_id, parent)


def _combined(one: CorpusStats, other: CorpusStats) -> CorpusStats:
    return one.model_copy(
        update={
            "documents": one.documents + other.documents,
            "sentences": one.sentences + other.sentences,
            "passages": one.passages + other.passages,
            "vocabulary": max(one.vocabulary, other.vocabulary),
            "built_at": max(one.built_at, other.built_at),
        }
    )


def _strength(answer: Answer) -> tuple[int, float, float]:
    """How well an answer answers, to choose between the server's and the shared set's."""
    best = answer.quotes[0].score if answer.quotes else 0.0
    return _OUTCOME_RANK.get(answer.outcome, 0), answer.confidence, best
