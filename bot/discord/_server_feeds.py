"""A server's feeds, as the corpus service follows them: following and unfollowing, polling
what is due (each server on its share of the feed threads), and what is left to post."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from corpus.models import Summary
from corpus.sources import (
    DuplicateRow,
    Feed,
    FeedError,
    FeedStore,
    PollResult,
    StoredArticle,
    UnpostedItem,
)

from ..state.servers import collection_of, guild_of
from ._server_articles import ServerArticles
from ._service_base import (
    _HOST,
    MAX_FEEDS_PER_SERVER,
    SERVER,
    RequestRefused,
    Scope,
    _Open,
)

__all__ = ["ServerFeeds"]

_log = logging.getLogger(__name__)


class ServerFeeds(ServerArticles):
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
            except DuplicateRow:  # the same feed, added at the same moment
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
        due = await self._in_thread(
            self._reads,
            lambda: store.due(collections=self._owned_following(store)),
            key=_HOST,
            bounded=False,
        )
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

    def _owned_following(self, store: FeedStore) -> list[str]:
        """The collections following feeds that this process answers for."""
        return [name for name in store.following() if self._owns(name)]

    async def unposted(self) -> list[UnpostedItem]:
        """Items to post from this process's servers, but not those of a feed still being
        polled: its server's index does not hold them yet (they come in a later round)."""
        store = self._feed_store()
        items = await self._in_thread(
            self._reads,
            lambda: store.unposted_items(collections=self._owned_following(store)),
            key=_HOST,
            bounded=False,
        )
        return [item for item in items if item.feed_id not in self._polling]

    async def claim(self, item: UnpostedItem) -> bool:
        """Take an item to post it, under a lease (no other process takes it meanwhile);
        False when another has it, or it is posted. Post it, then `posted`."""
        store = self._feed_store()
        return await self._in_thread(
            self._writes,
            lambda: store.claim(item.feed_id, item.url, lease=self.posting_lease),
            key=item.collection,
            bounded=False,  # the poller's own work, one item at a time
        )

    async def posted(self, item: UnpostedItem) -> None:
        """Record a claimed item as posted (or as never to be posted)."""
        store = self._feed_store()
        await self._in_thread(
            self._writes,
            lambda: store.mark_posted(item.feed_id, item.url),
            key=item.collection,
            bounded=False,
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
