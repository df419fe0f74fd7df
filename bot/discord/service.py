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
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Literal, TypeVar

from corpus import Corpus
from corpus.answering.followup import Exchange
from corpus.indexing.store import cache_path
from corpus.ingest.adding import add_fetched, linked_document
from corpus.ingest.addresses import Network
from corpus.ingest.feeds import POLL_INTERVAL, Feed, FeedError, FeedStore, PollResult, UnpostedItem
from corpus.ingest.fetch import fetch
from corpus.ingest.library import DEFAULT_COLLECTION, Library, LibraryError, StoredArticle
from corpus.ingest.loader import read_article
from corpus.models import (
    Answer,
    CorpusStats,
    DocumentStats,
    IndexConfig,
    Paragraph,
    Summary,
    SummaryLength,
)

from ..state.servers import collection_of, guild_of
from .conversations import Conversations
from .fair import Busy, FairPool

__all__ = [
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
_OUTCOME_RANK = {"answer": 2, "closest": 1, "none": 0}


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


class CorpusService:
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
    ) -> None:
        self.corpus = corpus  # the host's articles
        self.seeds_dir = seeds_dir
        self.cache_dir = cache_dir
        self.config = config
        self.max_question_chars = max_question_chars
        self.library = library
        self.share_host_articles = share_host_articles
        self.private_networks = private_networks  # by server (None: the host's collection)
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

    @staticmethod
    def _report_problems(corpus: Corpus) -> None:
        for problem in corpus.problems:
            _log.warning("Skipped %s", problem)

    # Which articles a request sees

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

    # Reading

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
        return await self._within_budget(
            asyncio.ensure_future(self._ask(question, scope, top, member, replying_to)),
            "question",
        )

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

    # A server's own articles

    async def add_url(self, guild_id: int, url: str) -> Added:
        """Fetch the link (on a fetch thread), then add what it holds."""
        library = self._library()
        fetched = await self._in_thread(
            self._fetches,
            lambda: fetch(url, private_networks=self.private_networks(guild_id)),
            key=collection_of(guild_id),
        )
        return await self._add(
            guild_id, lambda: add_fetched(library, collection_of(guild_id), fetched)
        )

    async def add_file(self, guild_id: int, filename: str, body: bytes) -> Added:
        library = self._library()
        name = PurePath(PurePath(filename).name)
        return await self._add(
            guild_id,
            lambda: library.add(collection_of(guild_id), body, name.suffix, wanted_id=name.stem),
        )

    async def _add(self, guild_id: int, add: Callable[[], tuple[StoredArticle, bool]]) -> Added:
        """Store the article, index it on its own and put that beside the server's index: it
        is answerable now. The collection's index then catches up in the background, reading
        only the new files."""
        await self._server(guild_id)

        def work() -> tuple[StoredArticle, bool, Corpus | None]:
            article, new = add()
            try:
                fresh = self._fresh_corpus(guild_id, article.id) if new else None
            except Exception:  # stored all the same: the catch-up will index it
                _log.exception("Indexing a just-added article on its own failed")
                fresh = None
            return article, new, fresh

        article, new, fresh = await self._in_thread(self._writes, work, key=collection_of(guild_id))
        current = self._servers.get(guild_id, _Open(None))  # a /reload may have cleared it
        if new:
            if fresh is not None:
                fresh_ones = {**current.fresh, article.id: fresh}
                self._servers[guild_id] = _Open(current.corpus, fresh_ones)
            self._catch_up(guild_id)
        stats = _document_stats(self._servers.get(guild_id, _Open(None)), article.id)
        return Added(
            article=article,
            new=new,
            paragraphs=stats.paragraphs if stats else 0,
            sentences=stats.sentences if stats else 0,
        )

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
                lambda: fetch(url, private_networks=self.private_networks(guild_id)),
                key=key,
            ),
            "link",
        )

        def work() -> LinkSummary:
            document = linked_document(fetched)
            corpus = Corpus.of_documents(
                [document], config=self.config, max_question_chars=self.max_question_chars
            )
            try:
                summary = corpus.summarize(length="short")
            finally:
                corpus.close()  # no vectors are built for a page nobody asks again
            return LinkSummary(summary, document.title, fetched.url, document.source)

        return await self._within_budget(self._in_thread(self._reads, work, key=key), "summary")

    async def remove(self, guild_id: int, article_id: str) -> StoredArticle:
        """Remove the article and wait for the index without it: it must not be quoted once
        the admin is told it is gone."""
        library = self._library()
        await self._server(guild_id)

        def work() -> tuple[StoredArticle, _CaughtUp]:
            name = collection_of(guild_id)
            if article_id not in {a.id for a in library.articles(name)}:
                raise LibraryError(f"This server has no article “{article_id[:80]}”.")
            removed = library.remove(name, article_id)
            self._removals[guild_id] = self._removals.get(guild_id, 0) + 1
            return removed, self._caught_up(guild_id)

        try:
            removed, caught = await self._in_thread(self._writes, work, key=collection_of(guild_id))
        except LibraryError:
            raise
        except Exception:
            # Removed, perhaps, but not re-indexed: forget the old index, so nothing from it
            # is quoted; the next question opens the collection as it is.
            self._servers.pop(guild_id, None)
            raise
        self._swap_caught_up(guild_id, caught, removed=article_id)
        return removed

    def _catch_up(self, guild_id: int) -> None:
        """Bring the server's collection index up to date in the background, on the index
        threads (so the server's next change does not wait for it), and swap it in. One
        that waits to start will hold this article too: it looks at what is fresh when it
        starts, so no second one is queued."""
        if self._indexing.waiting(collection_of(guild_id)):
            return
        future = self._in_thread(
            self._indexing,
            lambda: self._caught_up(guild_id),
            key=collection_of(guild_id),
            bounded=False,  # one per add, which was bounded
        )

        def done(finished: asyncio.Future[_CaughtUp]) -> None:
            if finished.cancelled():
                return
            if finished.exception() is not None:
                _log.error("Updating a server's index failed", exc_info=finished.exception())
                return  # the fresh articles stay answerable from their own indexes
            self._swap_caught_up(guild_id, finished.result())

        future.add_done_callback(done)

    def _caught_up(self, guild_id: int) -> _CaughtUp:
        """In a worker thread: the collection's whole index. It holds every article that is
        fresh now (each was stored before it was made fresh), and it knows how many removals
        came before it."""
        current = self._servers.get(guild_id, _Open(None))
        removals = self._removals.get(guild_id, 0)
        corpus = self._open_server(guild_id)
        return _CaughtUp(corpus, removals, frozenset(current.fresh))

    def _swap_caught_up(
        self, guild_id: int, caught: _CaughtUp, *, removed: str | None = None
    ) -> None:
        """On the event loop: the caught-up index in place of the server's, and the fresh
        articles it holds dropped (and a `removed` one); articles added while it was built
        stay fresh. An index built before a later removal is dropped instead: it may hold
        the removed article, which must never be quoted again."""
        if caught.removals != self._removals.get(guild_id, 0):
            return
        current = self._servers.get(guild_id, _Open(None))
        fresh = {
            article_id: corpus
            for article_id, corpus in current.fresh.items()
            if article_id not in caught.covered and article_id != removed
        }
        self._servers[guild_id] = _Open(caught.corpus, fresh)

    def _fresh_corpora(self, guild_id: int, article_ids: list[str]) -> dict[str, Corpus]:
        """These articles of the server's collection, each indexed on its own (those still
        there)."""
        fresh = {}
        for article_id in article_ids:
            corpus = self._fresh_corpus(guild_id, article_id)
            if corpus is not None:
                fresh[article_id] = corpus
        return fresh

    def _fresh_corpus(self, guild_id: int, article_id: str) -> Corpus | None:
        """Just this article of the server's collection, indexed on its own (None if it is
        gone already)."""
        assert self.library is not None
        directory = self.library.seeds_dir(collection_of(guild_id))
        stored = {a.id: a for a in self.library.articles(collection_of(guild_id))}
        if article_id not in stored:
            return None
        path = directory / f"{article_id}{stored[article_id].suffix}"
        # Read as when it was added (heavy formats in a child process): parsed here, a big
        # page or PDF would hold the interpreter lock that every other server's work needs.
        documents = [read_article(path, untrusted=True)]
        return Corpus.of_documents(
            documents, config=self.config, max_question_chars=self.max_question_chars
        )

    async def articles(self, guild_id: int) -> list[StoredArticle]:
        library = self._library()
        name = collection_of(guild_id)
        return await self._in_thread(self._reads, lambda: library.articles(name), key=name)

    async def pin(self, scope: Scope, set_name: SetName, article_id: str | None) -> None:
        """Pin the channel to a set, or to one article of it (which must be there)."""
        assert scope.guild_id is not None and scope.channel_id is not None
        library = self._library()
        where = Scope(scope.guild_id)
        if article_id is not None and not await self.corpus_holding(set_name, article_id, where):
            raise LibraryError(f"There is no article “{article_id[:60]}” to pin to.")
        guild, channel = scope.guild_id, scope.channel_id
        await self._in_thread(
            self._writes,
            lambda: library.pin(guild, channel, set_name, article_id),
            key=collection_of(guild),
        )
        self._pins[(guild, channel)] = (set_name, article_id)

    async def unpin(self, scope: Scope) -> bool:
        assert scope.guild_id is not None and scope.channel_id is not None
        library = self._library()
        guild, channel = scope.guild_id, scope.channel_id
        removed = await self._in_thread(
            self._writes, lambda: library.unpin(guild, channel), key=collection_of(guild)
        )
        self._pins.pop((guild, channel), None)
        return removed

    async def drop_server(self, guild_id: int) -> int:
        """Delete a server's own articles, feeds and pins, and forget its index (the bot left
        it long enough ago); how many articles went."""
        library = self._library()
        name = collection_of(guild_id)
        server = self._servers.pop(guild_id, None)
        for opened in (server.corpus, *server.fresh.values()) if server else ():
            if opened is not None:
                opened.close()
        self._pins = {key: pin for key, pin in self._pins.items() if key[0] != guild_id}

        def work() -> int:
            dropped = library.drop_collection(name, guild_id=guild_id)
            if self.cache_dir is not None:
                cache_path(self.cache_dir, library.data_dir / "collections" / name).unlink(
                    missing_ok=True
                )
            return dropped

        return await self._in_thread(self._writes, work, key=name, bounded=False)

    # A server's feeds

    async def add_feed(self, guild_id: int, url: str, channel_id: int | None) -> PollResult:
        """Follow a feed in the server's collection; its recent items become articles (not
        posted: following a feed does not flood the channel with its backlog). The feed and
        its items are fetched on the server's share of the feed threads; the index catches up
        after."""
        store = self._feed_store()
        name = collection_of(guild_id)
        wanted = url.strip()

        def follow() -> PollResult:
            followed = store.feeds(name)
            for feed in followed:
                if feed.url == wanted:
                    raise FeedError(f"This server follows that feed already (feed {feed.id}).")
            if len(followed) >= MAX_FEEDS_PER_SERVER:
                raise FeedError(
                    f"This server follows {len(followed)} feeds, the most it may; remove one "
                    "with /feed remove first."
                )
            try:
                return store.add(wanted, collection=name, channel_id=channel_id)
            except sqlite3.IntegrityError:  # the same feed, added at the same moment
                raise FeedError("That feed was just added; see /feeds.") from None

        await self._server(guild_id)
        result = await self._in_thread(self._feed_polls, follow, key=name)
        await self._index_feed_articles(name, result.added)
        return result

    async def remove_feed(self, guild_id: int, id_or_url: str) -> Feed:
        """Stop following one of this server's feeds (its articles stay)."""
        store = self._feed_store()

        def work() -> Feed:
            wanted = id_or_url.strip()
            for feed in store.feeds(collection_of(guild_id)):
                if wanted in (str(feed.id), feed.url):
                    return store.remove(feed.id)
            # Never say whose it is: another server's feed is none of this one's business.
            raise FeedError(f"This server follows no feed “{wanted[:80]}”.")

        return await self._in_thread(self._writes, work, key=collection_of(guild_id))

    async def feeds(self, guild_id: int) -> list[Feed]:
        store = self._feed_store()
        name = collection_of(guild_id)
        return await self._in_thread(self._reads, lambda: store.feeds(name), key=name)

    async def poll_feeds(self) -> list[PollResult]:
        """Poll the feeds that are due, each on its server's share of the feed threads (the
        host's on its own), each followed by its server's index update (one failing does not
        stop the others, nor the posting that follows). Returns the polls finished since the
        last round. A poll this round started and that is still going after
        `feed_round_seconds` (a slow feed, a slow item) goes on, and its result comes with a
        later round: it never holds back the other servers' posts."""
        store = self._feed_store()
        due = await self._in_thread(self._reads, store.due, key=_HOST, bounded=False)
        started = [self._start_poll(store, feed) for feed in due if feed.id not in self._polling]
        if started:
            await asyncio.wait(started, timeout=self.feed_round_seconds)
        results, self._polled = self._polled, []
        return results

    def _start_poll(self, store: FeedStore, feed: Feed) -> asyncio.Future[None]:
        poll = asyncio.ensure_future(self._poll_one(store, feed))
        self._polling[feed.id] = poll
        poll.add_done_callback(lambda _: self._polling.pop(feed.id, None))
        return poll

    async def _poll_one(self, store: FeedStore, feed: Feed) -> None:
        try:
            results = await self._in_thread(
                self._feed_polls, lambda: store.poll_if_due(feed), key=feed.collection
            )
        except RequestRefused:  # the server's feeds are busy: the feed stays due
            _log.info("Feed %s left for the next round: its server's feeds are busy.", feed.url)
            return
        except Exception:
            _log.exception("Polling the feed %s failed", feed.url)
            return
        await self._index_feed_articles(feed.collection, [a for r in results for a in r.added])
        self._polled.extend(results)

    async def _index_feed_articles(self, collection: str, added: Sequence[StoredArticle]) -> None:
        """Make the articles a feed added answerable: a server's each indexed on its own at
        once, as an added link is (its whole index catches up in the background, never
        waited for); the host's by a reload. A failure is logged: the articles are stored,
        and the next catch-up or reload indexes them."""
        guild_id = guild_of(collection)
        try:
            if not added:
                return
            if collection == self.host_collection:
                await self.reload(keep_servers=True)
            elif guild_id is not None and guild_id in self._servers:
                fresh = await self._in_thread(
                    self._writes,
                    lambda: self._fresh_corpora(guild_id, [a.id for a in added]),
                    key=collection,
                    bounded=False,  # one per poll or follow, which were bounded
                )
                current = self._servers.get(guild_id, _Open(None))
                self._servers[guild_id] = _Open(current.corpus, {**current.fresh, **fresh})
                self._catch_up(guild_id)
        except Exception:
            _log.exception("Updating an index after a feed poll failed")

    async def unposted(self) -> list[UnpostedItem]:
        """Items to post, but not those of a feed still being polled: its server's index
        does not hold them yet (they come in a later round)."""
        store = self._feed_store()
        items = await self._in_thread(self._reads, store.unposted_items, key=_HOST, bounded=False)
        return [item for item in items if item.feed_id not in self._polling]

    async def claim(self, item: UnpostedItem) -> bool:
        """Mark an item posted; True if it was not yet (post it now: at most once)."""
        store = self._feed_store()
        return await self._in_thread(
            self._writes,
            lambda: store.mark_posted(item.feed_id, item.url),
            key=item.collection,
            bounded=False,  # the poller's own work, one item at a time
        )

    async def article_summary(self, guild_id: int, article_id: str) -> Summary | None:
        """A short summary of one of the server's articles, in its own sentences."""
        corpus = await self.corpus_holding(SERVER, article_id, Scope(guild_id))
        if corpus is None:
            return None
        summary = await self._in_thread(
            self._summaries, lambda: corpus.summarize(length="short", doc_id=article_id)
        )
        return summary if summary.found else None

    def _feed_store(self) -> FeedStore:
        self._library()  # the feeds are the library's: none without it
        assert self.feed_store is not None
        return self.feed_store

    def _library(self) -> Library:
        if self.library is None:
            raise LibraryError("This bot keeps no collections (it has no data directory).")
        return self.library

    # Plumbing

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
        for pool in (self._questions, self._summaries):
            pool.shutdown(wait=False, cancel_futures=True)
        for fair in (self._writes, self._indexing, self._reads, self._fetches, self._feed_polls):
            fair.shutdown()

    async def reload(self, *, keep_servers: bool = False) -> Corpus:
        """Rebuild the shared articles from their directory (reading only changed files), and
        unless `keep_servers`, forget the servers' indexes (each is opened again, from its
        cache, when next asked); raises CorpusError and keeps the old index if the seeds are
        unusable."""
        async with self._reload_lock:
            corpus = await asyncio.to_thread(self._opened, self.seeds_dir)
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


def scope_of(interaction: Any) -> Scope:
    """The scope of a Discord interaction (duck-typed: this module never imports discord)."""
    parent = getattr(interaction.channel, "parent_id", None)
    return Scope(interaction.guild_id, interaction.channel_id, parent)


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


def _document_stats(server: _Open, article_id: str) -> DocumentStats | None:
    for corpus in (server.fresh.get(article_id), server.corpus):
        if corpus is not None and article_id in corpus.index.spans:
            return next(d for d in corpus.stats().documents if d.id == article_id)
    return None


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
