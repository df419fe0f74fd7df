"""A server's own articles, as the corpus service keeps them: adding (each new article
indexed on its own at once, the whole index catching up in the background), removing, pins,
and deleting a departed server's collection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import PurePath

from corpus import Corpus, cache_path, read_article
from corpus.models import DocumentStats
from corpus.sources import LibraryError, StoredArticle, add_fetched, fetch_url

from ..state.servers import collection_of, guild_of
from ._service_base import (
    _HOST,
    Added,
    Scope,
    ServiceBase,
    SetName,
    _CaughtUp,
    _Open,
)

__all__ = ["ServerArticles"]

_log = logging.getLogger(__name__)


class ServerArticles(ServiceBase):
    async def articles(self, guild_id: int) -> list[StoredArticle]:
        library = self._library()
        name = collection_of(guild_id)
        return await self._in_thread(self._reads, lambda: library.articles(name), key=name)

    async def add_url(self, guild_id: int, url: str) -> Added:
        """Fetch the link (on a fetch thread), then add what it holds."""
        library = self._library()
        fetched = await self._in_thread(
            self._fetches,
            lambda: fetch_url(url, private_networks=self.private_networks(guild_id)),
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

    async def follow_library(self) -> list[str]:
        """Take in the changes another process (the command line, a bot on another machine)
        made to the collections this one answers for: this machine's copy of each brought
        up to date, and the index of each held here rebuilt and swapped in, without a
        restart. A change that cannot be taken in now (the database does not answer, the
        server's index is being opened at this moment) is taken in at the next call. The
        collections swapped."""
        if self.library is None:
            return []
        library, seen = self.library, self._library_seen
        number, changes = await self._in_thread(
            self._reads, lambda: library.changes_since(seen), key=_HOST, bounded=False
        )
        if changes is None:  # fell too far behind to know which: everything held
            names = {collection_of(g) for g in self._servers}
            names |= {self.host_collection} if self.host_collection else set()
        else:
            names = {change.collection for change in changes}
        names, self._changed_elsewhere = names | self._changed_elsewhere, set()
        self._library_seen = number
        if not names:
            return []
        try:
            await self._in_thread(
                self._reads, lambda: library.catch_up(sorted(names)), key=_HOST, bounded=False
            )
        except Exception:
            self._changed_elsewhere |= names
            raise
        swapped, failures = [], []
        for name in sorted(names):
            try:
                if await self._take_in(name):
                    swapped.append(name)
            except Exception as error:
                self._changed_elsewhere.add(name)
                failures.append(error)
        if failures:
            raise failures[0]
        return swapped

    async def _take_in(self, name: str) -> bool:
        """One collection changed elsewhere: its index swapped in if held here (True)."""
        guild_id = guild_of(name)
        if name == self.host_collection:
            await self.reload(keep_servers=True)
        elif guild_id is not None and guild_id in self._servers:
            await self._swap_in_changed(guild_id)
        elif guild_id is not None and (opening := self._opening.get(guild_id)) and opening.locked():
            # Being opened now, perhaps as it was before the change: looked at again next time.
            self._changed_elsewhere.add(name)
            return False
        else:
            return False  # not held here: opened as it is when next asked
        _log.info("Took in a change to %s made elsewhere.", name)
        return True

    async def _swap_in_changed(self, guild_id: int) -> None:
        """The server's index rebuilt and swapped in after a change made elsewhere. Counted as
        a removal (it may be one), so no index built before it is swapped in after it."""
        self._removals[guild_id] = self._removals.get(guild_id, 0) + 1
        caught = await self._in_thread(
            self._indexing,
            lambda: self._caught_up(guild_id),
            key=collection_of(guild_id),
            bounded=False,  # one per change noticed
        )
        self._swap_caught_up(guild_id, caught)

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
        # Words only: encoding its sentences yields to every question being asked, so under
        # load the admin's "Added" waited for the whole queue of questions. The article is
        # ranked by meaning too once the collection's index has caught up (in the background).
        return Corpus.of_documents(
            documents,
            config=self.config,
            max_question_chars=self.max_question_chars,
            encoder=False,
        )

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


def _document_stats(server: _Open, article_id: str) -> DocumentStats | None:
    for corpus in (server.fresh.get(article_id), server.corpus):
        if corpus is not None and article_id in corpus.index.spans:
            return next(d for d in corpus.stats().documents if d.id == article_id)
    return None
