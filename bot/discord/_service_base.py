"""What the parts of the corpus service share (bot/discord/service.py): the request and
result types, the thread pools' sizes, opening a server's index, and running work in a pool
within a time budget.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from corpus import Corpus
from corpus.models import Answer, IndexConfig, Summary
from corpus.sources import FeedStore, Library, LibraryError, Network, PollResult, StoredArticle

from ..state.servers import collection_of, guild_of
from .conversations import Conversations
from .fair import Busy, FairPool

__all__ = [
    "MAX_FEEDS_PER_SERVER",
    "NO_ARTICLES",
    "SERVER",
    "SHARED",
    "Added",
    "LinkSummary",
    "PinnedAnswer",
    "RequestRefused",
    "Scope",
    "ServiceBase",
    "SetName",
]

_log = logging.getLogger(__name__)
T = TypeVar("T")

# Threads answering questions; summaries have one thread of their own.
QUESTION_THREADS = 2
MAX_QUEUED_SUMMARIES = 4
SUMMARIES_REMEMBERED = 64
REQUEST_SECONDS = 20.0
# Feeds one server may follow: each is read every few minutes, on the bot's feed threads.
MAX_FEEDS_PER_SERVER = 10

# Threads shared fairly between servers (bot/discord/fair.py); a server's queue beyond
# its bound is refused politely. A server's work waits for a thread only while every thread
# is busy with other servers' (one item each, in turn), so each pool has more threads than
# servers likely to be busy at once. Fetches mostly wait on the network: many threads, and a
# server fetches two links at a time.
FETCH_THREADS, FETCHES_PER_SERVER, FETCHES_WAITING = 32, 2, 8
# A feed's poll fetches the feed and up to MAX_NEW_ITEMS links, and stores their articles.
# One at a time per server: following a feed and a poll that finds it due at once must not
# both add its items.
FEED_THREADS, FEED_WORK_PER_SERVER, FEED_WORK_WAITING = 16, 1, MAX_FEEDS_PER_SERVER + 2
# A server's library changes (parsing a file, storing it, indexing it on its own), one at a
# time so they stay in order. CPU work: the threads share one core (the GIL), and each holds
# the text it parses, so their number also bounds that memory (threads x one add's bound).
LIBRARY_THREADS, LIBRARY_WAITING = 16, 8
# Bringing a server's whole index up to date after adds, in the background (one at a time
# per server); the added articles are answerable from their own indexes meanwhile.
INDEX_THREADS = 4
# Reading lists and opening a server's index (which reads its changed files: CPU work).
READ_THREADS, READS_PER_SERVER, READS_WAITING = 4, 2, 16
# How long a round of feed polling waits for its polls before posting what it has: a
# poll still going (a slow feed) goes on, and its articles are posted in a later round.
FEED_ROUND_SECONDS = 20.0

# The two sets of articles a server sees.
SERVER, SHARED = "server", "shared"
SetName = Literal["server", "shared"]


@dataclass(frozen=True)
class Scope:
    """Where a request comes from: a server (None in direct messages) and a channel."""

    guild_id: int | None
    channel_id: int | None = None
    parent_id: int | None = None  # a thread's channel: a pin on it holds in its threads


@dataclass(frozen=True)
class PinnedAnswer:
    """An answer with the corpus it came from, as it was then."""

    answer: Answer
    corpus: Corpus


@dataclass(frozen=True)
class LinkSummary:
    """A shared link's page, summarised without being added."""

    summary: Summary
    title: str
    url: str
    source: str | None


@dataclass(frozen=True)
class Added:
    """An article added to a server's collection, as the index now holds it."""

    article: StoredArticle
    new: bool  # False: the same article (content or URL) was there already
    paragraphs: int
    sentences: int


class RequestRefused(Exception):
    """The bot will not take this request now; the message says why, for the member."""


@dataclass(frozen=True)
class _Open:
    """A server's corpus once looked up (None while its collection has no articles), and the
    articles added since it was built, each indexed on its own (by article id) so that it is
    answerable at once while the collection's index catches up in the background. Replaced
    whole, on the event loop only."""

    corpus: Corpus | None
    fresh: dict[str, Corpus] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class _CaughtUp:
    """A server's whole collection index, with what it was built after: the number of
    removals then, and the fresh articles then (all stored before, so all in it)."""

    corpus: Corpus | None
    removals: int
    covered: frozenset[str]


class ServiceBase:
    """The plumbing every part of the service uses; the state is CorpusService's."""

    # Set by CorpusService.__init__ (bot/discord/service.py); declared here for the parts.
    corpus: Corpus
    seeds_dir: Path
    cache_dir: Path | None
    config: IndexConfig
    max_question_chars: int
    library: Library | None
    share_host_articles: bool
    private_networks: Callable[[int | None], tuple[Network, ...]]
    host_collection: str | None
    feed_store: FeedStore | None
    owns_server: Callable[[int], bool]
    posting_lease: datetime.timedelta
    request_seconds: float
    feed_round_seconds: float
    conversations: Conversations
    _questions: ThreadPoolExecutor
    _summaries: ThreadPoolExecutor
    _writes: FairPool
    _indexing: FairPool
    _reads: FairPool
    _fetches: FairPool
    _feed_polls: FairPool
    _polling: dict[int, asyncio.Future[None]]
    _polled: list[PollResult]
    _servers: dict[int, _Open]
    _opening: dict[int, asyncio.Lock]
    _pins: dict[tuple[int, int], tuple[str, str | None]]
    _removals: dict[int, int]
    _library_seen: int
    _changed_elsewhere: set[str]

    # CorpusService's, used by the parts.
    async def reload(self, *, keep_servers: bool = False) -> Corpus:
        raise NotImplementedError

    async def corpus_holding(self, name: str, doc_id: str, scope: Scope) -> Corpus | None:
        raise NotImplementedError

    @staticmethod
    def _report_problems(corpus: Corpus) -> None:
        for problem in corpus.problems:
            _log.warning("Skipped %s", problem)

    def pin_of(self, scope: Scope) -> tuple[str, str | None] | None:
        for channel in (scope.channel_id, scope.parent_id):
            if scope.guild_id is not None and channel is not None:
                pinned = self._pins.get((scope.guild_id, channel))
                if pinned is not None:
                    return pinned
        return None

    async def _server(self, guild_id: int | None) -> _Open | None:
        if guild_id is None or self.library is None:
            return None
        if guild_id not in self._servers:
            lock = self._opening.setdefault(guild_id, asyncio.Lock())
            async with lock:
                if guild_id not in self._servers:
                    corpus = await self._in_thread(
                        self._reads,
                        lambda: self._open_server(guild_id),
                        key=collection_of(guild_id),
                        bounded=False,  # one at a time per server (the lock)
                    )
                    self._servers[guild_id] = _Open(corpus)
        return self._servers[guild_id]

    def _open_server(self, guild_id: int) -> Corpus | None:
        """The server's collection, indexed (only changed files are read); None when empty."""
        assert self.library is not None
        name = collection_of(guild_id)
        if not self.library.articles(name):
            return None
        corpus = self._opened(self.library.seeds_dir(name))
        self._report_problems(corpus)
        return corpus

    def _owns(self, collection: str) -> bool:
        """Whether this process answers for a collection: a server's on its shards, and the
        host's (every process reads those)."""
        guild_id = guild_of(collection)
        return guild_id is None or self.owns_server(guild_id)

    def _feed_store(self) -> FeedStore:
        self._library()  # the feeds are the library's: none without it
        assert self.feed_store is not None
        return self.feed_store

    def _library(self) -> Library:
        if self.library is None:
            raise LibraryError("This bot keeps no collections (it has no data directory).")
        return self.library

    def _opened(self, seeds_dir: Path) -> Corpus:
        """A folder's corpus with this service's settings (only changed files are read)."""
        return Corpus.open(
            seeds_dir,
            cache_dir=self.cache_dir,
            config=self.config,
            max_question_chars=self.max_question_chars,
        )

    def _in_thread(
        self,
        pool: ThreadPoolExecutor | FairPool,
        work: Callable[[], T],
        *,
        key: str | None = None,
        bounded: bool = True,
    ) -> asyncio.Future[T]:
        """The work's future, done in `pool` (a fair pool: in the queue of `key`, a
        collection; RequestRefused when that queue is full)."""
        if isinstance(pool, ThreadPoolExecutor):
            return asyncio.get_running_loop().run_in_executor(pool, work)
        assert key is not None, "work in a fair pool is some collection's"
        try:
            return pool.run(key, work, bounded=bounded)
        except Busy as busy:
            _log.info("Refused: %s", busy)
            raise RequestRefused(_BUSY.get(busy.pool, _BUSY["library"])) from None

    async def _within_budget(
        self, future: asyncio.Future[T], what: str, *, queued: Callable[[], bool] = bool
    ) -> T:
        """The work's result within the request budget, else RequestRefused saying why:
        the work itself is heavy, or (`queued()` true) it waited behind many others."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.request_seconds)
        except TimeoutError:
            _log.warning("A %s took longer than %.0f s.", what, self.request_seconds)
            if queued():
                raise RequestRefused(
                    f"I have many questions to answer just now, and yours waited over "
                    f"{self.request_seconds:.0f} s. Please ask again in a minute."
                ) from None
            hint = "a shorter length" if what == "summary" else "fewer words or a topic"
            raise RequestRefused(
                f"That {what} is taking too long (over {self.request_seconds:.0f} s). "
                f"Try again with {hint}."
            ) from None


NO_ARTICLES = (
    "This server has no articles yet. An admin can add one with /article add (a link or a file)."
)


# The fair pools' key for work of no one server (what is due, what to post): not a
# collection name, so it never shares a server's queue.
_HOST = "(host)"

# What a member is told when their server's queue of such work is full.
_BUSY = {
    "fetch": "This server has many links on the way already. Try again when they are added.",
    "feeds": "This server's feeds are busy being read. Please try again in a minute.",
    "library": "This server has many changes to its articles on the way. Please try again "
    "in a minute.",
    "library-read": "I'm busy with this server's requests. Please try again in a moment.",
}


def _key_of(guild_id: int | None) -> str:
    return collection_of(guild_id) if guild_id is not None else _HOST
