"""RSS and Atom feeds: a collection follows a feed, and each new item's article is added to it.

A feed is fetched like any link (corpus/sources/fetch.py: public addresses only, the same size and
time limits), with feed content types accepted, and only its bytes are given to feedparser, which
never fetches anything itself. Each item's link is then added as an article, as `add` adds a
link (corpus/sources/adding.py). The state is in the library's database (schema 2 and 4), so a
restart goes on where it stopped:

    feeds       each followed feed: its collection, when it was polled and is next due, failures
    feed_items  each item link seen: the article it became, or why it did not become one

Decisions:

- Only the first `MAX_FEED_ITEMS` entries of a feed are read at all: the body is cut before the
  next `<item>` or `<entry>` is parsed, so a 5 MB feed of 100,000 items costs what 500 do.
  Feeds list their newest items first, as RSS and Atom advise; a feed that lists them oldest
  first and holds more than that is read only as far as its first `MAX_FEED_ITEMS`.
- An item is fetched once. Its link is recorded as seen whether it became an article, was
  already in the collection (the same URL, or the same content under another URL), or failed (a
  page with no article, an error page); the reason is returned and kept in `feed_items.error`.
- A poll fetches at most `MAX_NEW_ITEMS` new items, newest first, and leaves the rest for the
  next poll (without keeping the feed's ETag, so that poll reads the feed again).
- Adding a feed checks it first (it must fetch and parse as RSS or Atom; nothing is stored
  otherwise), then adds its newest `backlog` items (default `MAX_NEW_ITEMS`) as articles, marked
  as posted: following a feed does not post its backlog to the channel. Older items in the feed
  at that moment are recorded as seen, all in one transaction, and never fetched.
- An item waits to be posted (`posted = 0`) only when a later poll made it a new article of the
  collection and its feed has a channel then. A process posting it first takes a lease on it
  (`claim`), posts it, then marks it posted (`mark_posted`): no other process takes it while
  the lease runs, and one that dies holding it leaves it to the next once the lease runs out.
  So an item is never lost, and posted twice only when a process dies between the post
  reaching Discord and `mark_posted` being committed.
- An item is recorded as being fetched before it is (no article, no error yet): a poll killed
  half-way leaves it so, and the next poll takes it again, as new, even if its article was
  stored before the kill.
- A feed-level failure (unreachable, an HTTP error, not a feed) counts in `failures`, is kept in
  `last_error`, and puts the next poll off by `POLL_INTERVAL` × 2^failures, at most
  `MAX_BACKOFF`; a good poll (a 304 Not Modified too) resets it.
- Removing a feed keeps the articles it added; their items are forgotten.
"""

from __future__ import annotations

import contextlib
import datetime
import html.parser
import io
import itertools
import logging
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict

from ..errors import CorpusError
from .adding import add_url
from .addresses import Network
from .database import Db, DuplicateRow
from .fetch import Fetched, NotModified, fetch
from .library import DEFAULT_COLLECTION, Library, StoredArticle, checked_name

__all__ = [
    "MAX_BACKOFF",
    "MAX_FEED_ITEMS",
    "MAX_NEW_ITEMS",
    "POLL_INTERVAL",
    "Feed",
    "FeedEntry",
    "FeedError",
    "FeedStore",
    "ParsedFeed",
    "PollResult",
    "SkippedItem",
    "UnpostedItem",
    "parse_feed",
    "poll_feed",
]

_log = logging.getLogger(__name__)

POLL_INTERVAL = datetime.timedelta(minutes=15)
MAX_BACKOFF = datetime.timedelta(hours=24)
MAX_NEW_ITEMS = 20
# How long a process may take to post an item it claimed before another may take it over.
POSTING_LEASE = datetime.timedelta(minutes=2)
# The most entries of one feed that are read; the rest of the body is never parsed.
MAX_FEED_ITEMS = 500
# What a feed may be served as, and the suffix fetch gives it (feeds are never stored). Web
# pages and plain text are read too: feedparser decides from the content, a feed served as
# text still works, and a web page given instead of its feed gets a clear answer.
FEED_TYPES = {
    "application/rss+xml": ".xml",
    "application/atom+xml": ".xml",
    "application/rdf+xml": ".xml",
    "application/xml": ".xml",
    "text/xml": ".xml",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
}
_LONGEST_TITLE = 300
_LONGEST_VALIDATOR = 256  # an ETag or Last-Modified longer than this is not sent back
# Where an RSS item or an Atom entry starts (`<item>`, `<rss:item …>`, `<entry>`, `<atom:entry>`).
# One inside a comment or CDATA only makes the cut come earlier, never later.
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]", re.IGNORECASE)


class FeedError(CorpusError):
    """A feed that cannot be followed or found as asked; the message says why."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class FeedEntry(_Frozen):
    link: str  # absolute http(s)
    title: str | None = None
    published: datetime.datetime | None = None


class ParsedFeed(_Frozen):
    title: str | None
    kind: str  # feedparser's name for the format: rss20, atom10, rss10, …
    entries: tuple[FeedEntry, ...]  # in the feed's order, one per link


class Feed(_Frozen):
    id: int
    collection: str
    url: str
    title: str | None
    channel_id: int | None  # a Discord channel to post new articles to; None: not posted
    added_at: datetime.datetime
    last_polled_at: datetime.datetime | None
    next_poll_at: datetime.datetime
    failures: int  # feed-level failures in a row
    last_error: str | None
    articles: int  # articles of the collection that came from its items


class SkippedItem(_Frozen):
    url: str
    title: str | None
    reason: str
    article_id: str | None = None  # when the item is already in the collection as this article


class PollResult(_Frozen):
    feed: Feed  # as it is after the poll
    added: tuple[StoredArticle, ...] = ()  # new articles of the collection
    skipped: tuple[SkippedItem, ...] = ()  # new items that did not become new articles
    deferred: int = 0  # new items left for the next poll (more than MAX_NEW_ITEMS)
    older_not_fetched: int = 0  # on adding a feed: items older than the backlog taken
    not_modified: bool = False  # the server said the feed has not changed (HTTP 304)
    error: str | None = None  # why the feed itself could not be read; None: it was

    @property
    def ok(self) -> bool:
        return self.error is None


class UnpostedItem(_Frozen):
    feed_id: int
    feed_title: str | None
    feed_url: str
    collection: str
    channel_id: int
    url: str  # the item's link, as claim and mark_posted want it
    seen_at: datetime.datetime
    article: StoredArticle


def parse_feed(body: bytes, url: str) -> ParsedFeed:
    """The feed in `body` (fetched from `url`, which relative links resolve against), its
    first `MAX_FEED_ITEMS` entries only. Raises FeedError when it is not RSS or Atom."""
    import feedparser  # here: only feed commands pay for loading it

    # A stream, never a string: feedparser fetches a string that looks like a URL and opens
    # one that names a file.
    parsed = feedparser.parse(
        io.BytesIO(_first_entries(body, MAX_FEED_ITEMS)),
        response_headers={"content-location": url},
    )
    if not parsed.get("version"):
        if re.search(rb"<!doctype\s+html|<html", body[:4096], re.IGNORECASE):
            named = _feed_named_by(body, url)
            hint = f"; the page names its feed, {named}: add that" if named else ""
            raise FeedError(f"{_short(url)} is a web page, not an RSS or Atom feed{hint}.")
        raise FeedError(f"{_short(url)} is not an RSS or Atom feed.")
    entries: dict[str, FeedEntry] = {}
    for entry in parsed.entries:
        link = (entry.get("link") or "").strip()
        if urllib.parse.urlsplit(link).scheme not in ("http", "https") or link in entries:
            continue
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        entries[link] = FeedEntry(
            link=link, title=_title(entry.get("title")), published=_from_struct(when)
        )
    return ParsedFeed(
        title=_title(parsed.feed.get("title")),
        kind=parsed.version,
        entries=tuple(entries.values()),
    )


def _first_entries(body: bytes, limit: int) -> bytes:
    """The feed cut just before its entry number `limit + 1`, if it has one. feedparser reads
    the cut feed's first `limit` entries as they are (the missing end only marks it "bozo"),
    and its time grows with the entries it parses."""
    starts = _ENTRY_START.finditer(body)
    after = next(itertools.islice(starts, limit, None), None)
    return body if after is None else body[: after.start()]


class FeedStore:
    """The feeds of a library's collections: follow, list, poll, forget; and what to post.

    `now` (an aware datetime; default: the clock) is when a call happens, for scheduling.
    """

    def __init__(
        self,
        library: Library,
        *,
        private_networks: Callable[[str], Iterable[Network]] = lambda collection: (),
        interval: datetime.timedelta = POLL_INTERVAL,
        max_backoff: datetime.timedelta = MAX_BACKOFF,
        max_new_items: int = MAX_NEW_ITEMS,
    ) -> None:
        self.library = library
        # The private address ranges the host lets a collection's fetches reach.
        self.private_networks = private_networks
        self.interval = interval
        self.max_backoff = max_backoff
        self.max_new_items = max_new_items

    # Following and forgetting

    def add(
        self,
        url: str,
        *,
        collection: str = DEFAULT_COLLECTION,
        channel_id: int | None = None,
        backlog: int | None = None,
        now: datetime.datetime | None = None,
    ) -> PollResult:
        """Follow the feed at `url` in `collection`, and add the newest `backlog` (default:
        max_new_items) of its items as articles, marked as posted. Raises FeedError (not a
        feed, already followed), FetchError or LibraryError; then nothing is stored."""
        when = _utc(now)
        url = url.strip()
        name = checked_name(collection)
        self._refuse_duplicate(name, url)
        fetched = self._fetch_feed(url, name)
        parsed = parse_feed(fetched.body, fetched.url)
        self.library.seeds_dir(name)  # the collection, made if new
        try:
            with self._writing() as db:
                (feed_id,) = db.execute(
                    "INSERT INTO feeds (collection, url, title, channel_id, added_at, "
                    "last_polled_at, next_poll_at, etag, modified) VALUES (?,?,?,?,?,?,?,?,?) "
                    "RETURNING id",
                    (
                        name,
                        url,
                        parsed.title,
                        channel_id,
                        _iso(when),
                        _iso(when),
                        _iso(when + self.interval),
                        _validator(fetched.etag),
                        _validator(fetched.last_modified),
                    ),
                ).fetchone()
        except DuplicateRow:  # added meanwhile, by another process
            self._refuse_duplicate(name, url)
            raise
        assert feed_id is not None
        taken = self.max_new_items if backlog is None else max(0, backlog)
        return self._take(feed_id, parsed, fetched, when, limit=taken, first=True)

    def remove(self, id_or_url: int | str, *, collection: str | None = None) -> Feed:
        """Stop following a feed (by id, or by URL within `collection` or the only collection
        that follows it). Its articles stay in the collection."""
        feed = self.find(id_or_url, collection=collection)
        with self._writing() as db:
            db.execute("DELETE FROM feeds WHERE id = ?", (feed.id,))
        return feed

    def set_channel(
        self, id_or_url: int | str, channel_id: int | None, *, collection: str | None = None
    ) -> Feed:
        """Post the feed's new articles to this channel from now on (None: post nowhere)."""
        feed = self.find(id_or_url, collection=collection)
        with self._writing() as db:
            db.execute("UPDATE feeds SET channel_id = ? WHERE id = ?", (channel_id, feed.id))
        return self.get(feed.id)

    # Looking up

    def feeds(self, collection: str | None = None) -> list[Feed]:
        """Every feed followed (by `collection`, when given), in the order they were added."""
        if collection is None:
            return self._select("ORDER BY f.id")
        return self._select("WHERE f.collection = ? ORDER BY f.id", (collection,))

    def get(self, feed_id: int) -> Feed:
        found = self._select("WHERE f.id = ?", (feed_id,))
        if not found:
            raise FeedError(f"There is no feed {feed_id}.")
        return found[0]

    def find(self, id_or_url: int | str, *, collection: str | None = None) -> Feed:
        """A feed by its id, or by its URL (in `collection`, when given). FeedError if there
        is none, or when a URL is followed by several collections and none is named."""
        where = f" in “{collection}”" if collection else ""
        if isinstance(id_or_url, int) or id_or_url.strip().isdigit():
            feed = self.get(int(id_or_url))
            if collection is not None and feed.collection != collection:
                raise FeedError(f"Feed {feed.id} is followed in “{feed.collection}”, not{where}.")
            return feed
        url = id_or_url.strip()
        found = [f for f in self.feeds(collection) if f.url == url]
        if not found:
            raise FeedError(f"No feed{where} has the URL {_short(url)}.")
        if len(found) > 1:
            names = ", ".join(f"“{f.collection}”" for f in found)
            raise FeedError(
                f"{_short(url)} is followed in {names}; name the collection, or use the id."
            )
        return found[0]

    def due(
        self,
        now: datetime.datetime | None = None,
        *,
        collection: str | None = None,
        collections: Iterable[str] | None = None,
    ) -> list[Feed]:
        """The feeds whose next poll is now or past (of `collection`, or of `collections`,
        when given), the longest waiting first."""
        sql, values = "WHERE f.next_poll_at <= ?", [_iso(_utc(now))]
        if collection is not None:
            sql, values = sql + " AND f.collection = ?", [*values, collection]
        if collections is not None:
            among = _among(collections)
            if among is None:
                return []
            sql, values = sql + among[0], [*values, *among[1]]
        return self._select(sql + " ORDER BY f.next_poll_at, f.id", tuple(values))

    def following(self) -> list[str]:
        """The collections that follow at least one feed."""
        with self._reading() as db:
            rows = db.execute("SELECT DISTINCT collection FROM feeds ORDER BY collection")
            return [row[0] for row in rows]

    # Polling

    def poll(self, feed: Feed | int, *, now: datetime.datetime | None = None) -> PollResult:
        """Read the feed now and add its new items' articles. A feed-level problem does not
        raise: it is counted, scheduled with backoff and returned as `error`. Raises FeedError
        only when the feed is no longer followed."""
        when = _utc(now)
        feed_id = feed if isinstance(feed, int) else feed.id
        with self._reading() as db:
            row = db.execute(
                "SELECT url, etag, modified, collection FROM feeds WHERE id = ?", (feed_id,)
            ).fetchone()
        if row is None:
            raise FeedError(f"There is no feed {feed_id}.")
        url, etag, modified, collection = row
        try:
            fetched = self._fetch_feed(url, collection, etag=etag, modified=modified)
            parsed = parse_feed(fetched.body, fetched.url)
        except NotModified:
            self._succeeded(feed_id, when)
            return PollResult(feed=self.get(feed_id), not_modified=True)
        except CorpusError as error:
            return self._failed(feed_id, when, str(error))
        return self._take(feed_id, parsed, fetched, when, limit=self.max_new_items)

    def poll_due(
        self,
        now: datetime.datetime | None = None,
        *,
        collection: str | None = None,
        every: bool = False,
    ) -> list[PollResult]:
        """Poll the feeds that are due (or `every` feed), one after another. A feed another
        process is polling at the same moment is left to it; an unexpected error in one feed
        is logged and counted as its failure, and the others are still polled."""
        when = _utc(now)
        results = []
        for feed in self.feeds(collection) if every else self.due(when, collection=collection):
            results.extend(self.poll_if_due(feed, now=when, every=every))
        return results

    def poll_if_due(
        self, feed: Feed, *, now: datetime.datetime | None = None, every: bool = False
    ) -> list[PollResult]:
        """Poll one feed from `due` unless another process has just taken it (or removed it):
        its result, or nothing. An unexpected error counts as the feed's failure."""
        when = _utc(now)
        if not every and not self._claim(feed, when):
            return []
        try:
            return [self.poll(feed.id, now=when)]
        except FeedError:
            return []  # removed meanwhile
        except Exception as error:
            _log.exception("Polling the feed %s failed", feed.url)
            return [self._failed(feed.id, when, f"unexpected error ({type(error).__name__})")]

    # Posting to channels

    def unposted_items(
        self,
        *,
        channel_id: int | None = None,
        collections: Iterable[str] | None = None,
        now: datetime.datetime | None = None,
        limit: int = 50,
    ) -> list[UnpostedItem]:
        """New articles from feeds with a channel (or this channel; of these `collections`)
        not yet posted, nor being posted under a lease that still runs, oldest first. Take
        each with `claim` before posting it, and `mark_posted` after."""
        sql = (
            "SELECT i.feed_id, f.title, f.url, f.collection, f.channel_id, i.url, i.seen_at, a.* "
            "FROM feed_items i JOIN feeds f ON f.id = i.feed_id "
            "JOIN articles a ON a.collection = f.collection AND a.id = i.article_id "
            "AND a.sha256 = i.sha256 "
            "WHERE i.posted = 0 AND f.channel_id IS NOT NULL "
            "AND (i.posting_until IS NULL OR i.posting_until <= ?)"
        )
        values: list[object] = [_iso(_utc(now))]
        if channel_id is not None:
            sql, values = sql + " AND f.channel_id = ?", [*values, channel_id]
        if collections is not None:
            among = _among(collections)
            if among is None:
                return []
            sql, values = sql + among[0], [*values, *among[1]]
        with self._reading() as db:
            rows = db.execute(
                sql + " ORDER BY i.seen_at, i.feed_id, i.url LIMIT ?", (*values, limit)
            ).fetchall()
        return [
            UnpostedItem(
                feed_id=row[0],
                feed_title=row[1],
                feed_url=row[2],
                collection=row[3],
                channel_id=row[4],
                url=row[5],
                seen_at=datetime.datetime.fromisoformat(row[6]),
                article=StoredArticle(*row[7:]),
            )
            for row in rows
        ]

    def claim(
        self,
        feed_id: int,
        url: str,
        *,
        lease: datetime.timedelta = POSTING_LEASE,
        now: datetime.datetime | None = None,
    ) -> bool:
        """Take an item to post it: True when it is not posted and no other lease on it
        runs. No one else takes it for `lease`; post it, then `mark_posted`."""
        when = _utc(now)
        with self._writing() as db:
            changed = db.execute(
                "UPDATE feed_items SET posting_until = ? WHERE feed_id = ? AND url = ? "
                "AND posted = 0 AND (posting_until IS NULL OR posting_until <= ?)",
                (_iso(when + lease), feed_id, url, _iso(when)),
            ).rowcount
        return changed == 1

    def mark_posted(self, feed_id: int, url: str) -> bool:
        """Mark an item as posted (or as never to be posted). True when it was not yet."""
        with self._writing() as db:
            changed = db.execute(
                "UPDATE feed_items SET posted = 1, posting_until = NULL "
                "WHERE feed_id = ? AND url = ? AND posted = 0",
                (feed_id, url),
            ).rowcount
        return changed == 1

    # The work

    def _take(
        self,
        feed_id: int,
        parsed: ParsedFeed,
        fetched: Fetched,
        when: datetime.datetime,
        *,
        limit: int,
        first: bool = False,
    ) -> PollResult:
        """Add the new entries' articles (at most `limit`), record each as seen, and record
        the poll as a success. `first`: the feed was just added, so nothing waits to be
        posted, and entries past `limit` are recorded as seen instead of left for later."""
        feed = self.get(feed_id)
        with self._reading() as db:
            seen = {
                url: bool(taken)
                for url, taken in db.execute(
                    "SELECT url, article_id IS NOT NULL OR error IS NOT NULL FROM feed_items "
                    "WHERE feed_id = ?",
                    (feed_id,),
                )
            }
        fresh = [e for e in parsed.entries if not seen.get(e.link)]
        if all(e.published for e in fresh):  # else the feed's own order, newest first as usual
            fresh.sort(key=lambda e: e.published or when, reverse=True)
        chosen, rest = fresh[:limit], fresh[limit:]
        if first:
            self._record_older(feed_id, rest, when)
        known = {a.url: a for a in self.library.articles(feed.collection) if a.url}
        post = feed.channel_id is not None and not first
        added, skipped = [], []
        for entry in reversed(chosen):  # oldest first, as they were published
            # Recorded as seen but neither added nor failed: a poll was killed fetching it.
            resumed = entry.link in seen
            outcome = self._take_entry(feed, entry, known, when, post=post, resumed=resumed)
            (added if isinstance(outcome, StoredArticle) else skipped).append(outcome)
        # With entries left for later, the feed must be read in full next time, not answered
        # 304, so its validators are not kept.
        left = 0 if first else len(rest)
        self._succeeded(
            feed_id,
            when,
            title=parsed.title,
            validators=(None, None) if left else (fetched.etag, fetched.last_modified),
        )
        return PollResult(
            feed=self.get(feed_id),
            added=tuple(added),
            skipped=tuple(skipped),
            deferred=left,
            older_not_fetched=len(rest) if first else 0,
        )

    def _take_entry(
        self,
        feed: Feed,
        entry: FeedEntry,
        known: dict[str, StoredArticle],
        when: datetime.datetime,
        *,
        post: bool,
        resumed: bool = False,
    ) -> StoredArticle | SkippedItem:
        """Add one new entry's article, recording the outcome. `resumed`: an earlier poll
        began with this entry and was stopped, so its article, if stored, is new all the
        same (and posted, as it would have been)."""

        def skip(reason: str, article: StoredArticle | None = None) -> SkippedItem:
            return SkippedItem(
                url=entry.link,
                title=entry.title,
                reason=reason,
                article_id=article and article.id,
            )

        existing = known.get(entry.link)
        if existing is not None and not resumed:
            self._record(feed.id, entry, when, article=existing)
            return skip(f"already in “{feed.collection}” as {existing.id}", existing)
        self._record(feed.id, entry, when, fetching=True)
        try:
            article, new = add_url(
                self.library,
                feed.collection,
                entry.link,
                private_networks=self.private_networks(feed.collection),
                published=entry.published.date() if entry.published else None,
            )
        except CorpusError as error:
            reason = str(error)
        except Exception as error:  # one unreadable page must not stop its feed for good
            _log.warning("Reading the feed item %s failed", entry.link, exc_info=True)
            reason = f"{_short(entry.link)} could not be read ({type(error).__name__})."
        else:
            new = new or resumed
            self._record(feed.id, entry, when, article=article, posted=not (new and post))
            if article.url:
                known[article.url] = article
            if new:
                return article
            return skip(f"the same article is in “{feed.collection}” as {article.id}", article)
        _log.info("Feed item %s not added: %s", entry.link, reason)
        self._record(feed.id, entry, when, error=reason)
        return skip(reason)

    def _fetch_feed(
        self, url: str, collection: str, *, etag: str | None = None, modified: str | None = None
    ) -> Fetched:
        return fetch(
            url,
            private_networks=self.private_networks(collection),
            accept=FEED_TYPES,
            etag=etag,
            modified=modified,
        )

    # The database

    def _reading(self) -> contextlib.AbstractContextManager[Db]:
        return self.library.reading()

    def _writing(self) -> contextlib.AbstractContextManager[Db]:
        return self.library.transaction()

    def _select(self, where: str, values: tuple[object, ...] = ()) -> list[Feed]:
        sql = (
            "SELECT f.id, f.collection, f.url, f.title, f.channel_id, f.added_at, "
            "f.last_polled_at, f.next_poll_at, f.failures, f.last_error, "
            "(SELECT COUNT(DISTINCT a.id) FROM feed_items i JOIN articles a "
            "ON a.collection = f.collection AND a.id = i.article_id AND a.sha256 = i.sha256 "
            "WHERE i.feed_id = f.id) "
            "FROM feeds f "
        )
        with self._reading() as db:
            rows = db.execute(sql + where, values).fetchall()
        names = list(Feed.model_fields)
        return [Feed.model_validate(dict(zip(names, row, strict=True))) for row in rows]

    def _refuse_duplicate(self, collection: str, url: str) -> None:
        for feed in self.feeds(collection):
            if feed.url == url:
                raise FeedError(
                    f"“{collection}” already follows {_short(url)} (feed {feed.id}); "
                    "it is not added twice."
                )

    def _record(
        self,
        feed_id: int,
        entry: FeedEntry,
        when: datetime.datetime,
        *,
        article: StoredArticle | None = None,
        error: str | None = None,
        posted: bool = True,
        fetching: bool = False,
    ) -> None:
        """An entry's outcome; or, `fetching`, that it is being fetched (a row with neither
        article nor error, completed by the outcome). An outcome is recorded once."""
        conflict = (
            "DO NOTHING"
            if fetching
            else "DO UPDATE SET title = excluded.title, sha256 = excluded.sha256, "
            "article_id = excluded.article_id, error = excluded.error, "
            "seen_at = excluded.seen_at, posted = excluded.posted "
            "WHERE feed_items.article_id IS NULL AND feed_items.error IS NULL"
        )
        with self._writing() as db:
            db.execute(
                "INSERT INTO feed_items "
                "(feed_id, url, title, sha256, article_id, error, seen_at, posted) "
                f"VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (feed_id, url) {conflict}",
                (
                    feed_id,
                    entry.link,
                    entry.title,
                    article and article.sha256,
                    article and article.id,
                    error,
                    _iso(when),
                    int(posted),
                ),
            )

    def _record_older(
        self, feed_id: int, entries: list[FeedEntry], when: datetime.datetime
    ) -> None:
        """Record the items older than those taken when a feed is added as seen, in one
        transaction: one each took a commit and an fsync apiece (minutes for a long feed)."""
        with self._writing() as db:
            db.executemany(
                "INSERT INTO feed_items (feed_id, url, title, error, seen_at, posted) "
                "VALUES (?,?,?,?,?,1) ON CONFLICT (feed_id, url) DO NOTHING",
                (
                    (feed_id, e.link, e.title, "older than the items taken when added", _iso(when))
                    for e in entries
                ),
            )

    def _claim(self, feed: Feed, when: datetime.datetime) -> bool:
        """Put the feed's next poll off while this process polls it; False when another
        process has just done so. The put-off is the poll's lease: a process that dies
        polling leaves the feed to the next poll after it."""
        with self._writing() as db:
            changed = db.execute(
                "UPDATE feeds SET next_poll_at = ? WHERE id = ? AND next_poll_at = ?",
                (_iso(when + self.interval), feed.id, _iso(feed.next_poll_at)),
            ).rowcount
        return changed == 1

    def _succeeded(
        self,
        feed_id: int,
        when: datetime.datetime,
        *,
        title: str | None = None,
        validators: tuple[str | None, str | None] | None = None,
    ) -> None:
        """A good poll: failures forgotten, the next one after the interval. `validators`
        (ETag, Last-Modified) replace the stored ones when given; a `title` replaces it."""
        sets = "last_polled_at = ?, next_poll_at = ?, failures = 0, last_error = NULL"
        values: list[object] = [_iso(when), _iso(when + self.interval)]
        if title:
            sets, values = sets + ", title = ?", [*values, title]
        if validators is not None:
            etag, modified = validators
            sets += ", etag = ?, modified = ?"
            values += [_validator(etag), _validator(modified)]
        with self._writing() as db:
            db.execute(f"UPDATE feeds SET {sets} WHERE id = ?", (*values, feed_id))

    def _failed(self, feed_id: int, when: datetime.datetime, error: str) -> PollResult:
        """A failed poll: counted, and the next one put off twice as long as the last."""
        with self._writing() as db:
            (failures,) = db.execute(
                "SELECT failures FROM feeds WHERE id = ?", (feed_id,)
            ).fetchone() or (0,)
            failures += 1
            wait = min(self.interval * 2 ** min(failures, 30), self.max_backoff)
            db.execute(
                "UPDATE feeds SET failures = ?, last_error = ?, last_polled_at = ?, "
                "next_poll_at = ? WHERE id = ?",
                (failures, error, _iso(when), _iso(when + wait), feed_id),
            )
        _log.info("Feed %s failed (%d in a row): %s", feed_id, failures, error)
        return PollResult(feed=self.get(feed_id), error=error)


def _among(collections: Iterable[str]) -> tuple[str, list[str]] | None:
    """The condition keeping feeds `f` of these collections, and its values; None when
    there are none (so nothing is)."""
    names = sorted(set(collections))
    if not names:
        return None
    return f" AND f.collection IN ({', '.join('?' * len(names))})", names


def poll_feed(
    library: Library,
    feed: Feed | int,
    *,
    private_networks: Iterable[Network] = (),
    now: datetime.datetime | None = None,
) -> PollResult:
    """Poll one feed now, with the default interval and limits (`FeedStore.poll`)."""
    networks = tuple(private_networks)
    return FeedStore(library, private_networks=lambda _: networks).poll(feed, now=now)


class _FeedLinks(html.parser.HTMLParser):
    """The first `<link rel="alternate" type="application/rss+xml|atom+xml" href>` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: (value or "") for name, value in attrs}
        if (
            self.href is None
            and tag == "link"
            and "alternate" in found.get("rel", "").casefold().split()
            and found.get("type", "").casefold() in ("application/rss+xml", "application/atom+xml")
            and found.get("href")
        ):
            self.href = found["href"].strip()


def _feed_named_by(page: bytes, url: str) -> str | None:
    links = _FeedLinks()
    links.feed(page[:200_000].decode("utf-8", "replace"))
    if not links.href:
        return None
    named = urllib.parse.urljoin(url, links.href)
    return named if urllib.parse.urlsplit(named).scheme in ("http", "https") else None


def _title(value: object) -> str | None:
    text = " ".join(str(value).split()) if value else ""
    return text[:_LONGEST_TITLE] or None


def _from_struct(value: time.struct_time | None) -> datetime.datetime | None:
    if value is None:
        return None
    try:
        return datetime.datetime(*value[:6], tzinfo=datetime.UTC)
    except (TypeError, ValueError):
        return None


def _validator(value: str | None) -> str | None:
    return value if value and len(value) <= _LONGEST_VALIDATOR else None


def _utc(now: datetime.datetime | None) -> datetime.datetime:
    if now is None:
        return datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    if now.tzinfo is None:
        raise ValueError("`now` must be an aware datetime")
    return now.astimezone(datetime.UTC).replace(microsecond=0)


def _iso(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).isoformat(timespec="seconds")


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "…"
