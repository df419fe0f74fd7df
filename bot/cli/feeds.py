"""`python -m bot feed add|list|remove|poll`: RSS and Atom feeds that collections follow.

Registered by `build_parser` in main.py (`add_feed_command`); the handlers print like `add` and
`list` do, and leave errors to `main` (a CorpusError becomes its message and exit code 2).
"""

from __future__ import annotations

import argparse
import datetime
import json
from typing import TYPE_CHECKING

from corpus.sources import DEFAULT_COLLECTION

from ..settings import Settings, open_library
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    Command,
    chosen_articles,
    print_error,
    print_out,
    program_name,
    subcommand,
)
from .library import reindex

if TYPE_CHECKING:
    from corpus.sources import Feed, FeedStore, Network, PollResult

__all__ = ["add_feed_command"]


def add_feed_command(command: Command) -> None:
    """Add `feed` and its actions, with `command` (build_parser's maker of a subcommand)."""
    program = program_name()
    feed = command(
        "feed",
        "follow RSS and Atom feeds: each new item's article is added to a collection",
        [
            "add https://example.org/news/rss.xml --collection harbour",
            "list",
            "poll",
            "remove 1",
        ],
    )
    actions = feed.add_subparsers(dest="feed_command", required=True, metavar="ACTION")

    def action(name: str, help: str, examples: list[str]) -> argparse.ArgumentParser:
        return subcommand(actions, f"{program} feed", name, help, examples)

    add = action(
        "add",
        "follow a feed, adding the articles of its newest items now (they are not posted)",
        ["https://example.org/news/rss.xml", "https://example.org/atom.xml --collection harbour"],
    )
    add.add_argument("url", help="the feed's address (RSS or Atom)")
    add.add_argument(
        "--collection", metavar="NAME", help=f"where to (default: {DEFAULT_COLLECTION})"
    )
    add.add_argument("--json", action="store_true", help="print JSON instead of text")
    add.set_defaults(handler=_add)

    listing = action(
        "list",
        "list the feeds followed: title, URL, articles so far, polls, failures",
        ["", "--collection harbour --json"],
    )
    listing.add_argument(
        "--collection", metavar="NAME", help="only this collection's (default: every collection)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")
    listing.set_defaults(handler=_list)

    remove = action(
        "remove",
        "stop following a feed (the articles it added stay)",
        ["1", "https://example.org/news/rss.xml --collection harbour"],
    )
    remove.add_argument("feed", metavar="ID|URL", help="the feed's id (see `feed list`) or URL")
    remove.add_argument(
        "--collection",
        metavar="NAME",
        help="the collection that follows it (needed only for a URL several follow)",
    )
    remove.set_defaults(handler=_remove)

    poll = action(
        "poll",
        "read the feeds that are due now and add their new items' articles",
        ["", "--all", "--collection harbour"],
    )
    poll.add_argument("--all", action="store_true", help="every feed, due or not")
    poll.add_argument(
        "--collection", metavar="NAME", help="only this collection's (default: every collection)"
    )
    poll.add_argument("--json", action="store_true", help="print one JSON object per feed")
    poll.set_defaults(handler=_poll)


def _store(settings: Settings) -> FeedStore:
    from corpus.sources import FeedStore  # only feed commands load the feed machinery

    from ..discord.service import guild_of  # whose collection it is (no discord import)

    def networks(collection: str) -> tuple[Network, ...]:
        return settings.private_networks_for(guild_of(collection))

    # The bot's schedule: a poll from here puts the feed's next one off as the bot would.
    return FeedStore(
        open_library(settings),
        private_networks=networks,
        interval=datetime.timedelta(minutes=settings.feed_interval_minutes),
    )


def _add(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    result = store.add(args.url, collection=args.collection or DEFAULT_COLLECTION)
    _report(store, [result], settings, as_json=args.json)
    return EXIT_OK


def _poll(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    results = store.poll_due(collection=args.collection, every=args.all)
    if not results:
        followed = store.feeds(args.collection)
        if not followed:
            print_out(
                f"No feed is followed{_in(args.collection)}. "
                f"Follow one with: {_feed_command(args, 'add URL')}"
            )
        else:
            soonest = min(f.next_poll_at for f in followed)
            print_out(
                f"No feed is due{_in(args.collection)}; the next poll is at {_when(soonest)}. "
                f"Poll every feed now with: {_feed_command(args, 'poll --all')}"
            )
        return EXIT_OK
    _report(store, results, settings, as_json=args.json)
    return EXIT_USAGE if any(not r.ok for r in results) else EXIT_OK


def _report(
    store: FeedStore, results: list[PollResult], settings: Settings, *, as_json: bool
) -> None:
    """Bring each collection that got articles up to date in its index, then say what each
    poll did: articles on stdout, skipped items and errors on stderr."""
    sizes = {}
    for name in sorted({r.feed.collection for r in results if r.added}):
        for shown in reindex(store.library, name, settings).stats().documents:
            sizes[name, shown.id] = f"{shown.paragraphs} paragraphs, {shown.sentences} sentences"
    for result in results:
        if as_json:
            print_out(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
            continue
        feed = result.feed
        if result.error:
            print_error(
                f"Feed {feed.id} ({feed.url}): {result.error} Next try at "
                f"{_when(feed.next_poll_at)} ({feed.failures} failure(s) in a row)."
            )
            continue
        if result.not_modified:
            print_out(f"{_name(feed)}: unchanged since the last poll.")
            continue
        print_out(
            f"{_name(feed)} in “{feed.collection}”: {len(result.added)} new article(s)"
            + (f", {len(result.skipped)} item(s) skipped" if result.skipped else "")
        )
        for article in result.added:
            size = sizes.get((feed.collection, article.id), "")
            print_out(f"  {article.id}: {article.title!r} ({size})")
        for item in result.skipped:
            print_error(f"  skipped {item.url}: {item.reason}")
        if result.deferred:
            print_out(f"  {result.deferred} more new item(s) wait for the next poll.")
        if result.older_not_fetched:
            print_out(f"  {result.older_not_fetched} older item(s) in the feed were not fetched.")


def _list(args: argparse.Namespace, settings: Settings) -> int:
    feeds = _store(settings).feeds(args.collection)
    if args.json:
        print_out(json.dumps([f.model_dump(mode="json") for f in feeds], ensure_ascii=False))
        return EXIT_OK
    if not feeds:
        print_out(
            f"No feed is followed{_in(args.collection)}. "
            f"Follow one with: {_feed_command(args, 'add URL')}"
        )
        return EXIT_OK
    for feed in feeds:
        polled = _when(feed.last_polled_at) if feed.last_polled_at else "never"
        facts = [
            f"{feed.articles} article(s)",
            f"last polled {polled}",
            f"next poll {_when(feed.next_poll_at)}",
        ]
        if feed.channel_id is not None:
            facts.append(f"posts to channel {feed.channel_id}")
        print_out(f"{_name(feed)} {feed.url} in “{feed.collection}”: {', '.join(facts)}")
        if feed.failures:
            print_out(f"  {feed.failures} failure(s) in a row; last error: {feed.last_error}")
    return EXIT_OK


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    feed = _store(settings).remove(args.feed, collection=args.collection)
    print_out(
        f"Stopped following {_name(feed)} ({feed.url}) in “{feed.collection}”; its "
        f"{feed.articles} article(s) stay (see `list --collection {feed.collection}`)."
    )
    return EXIT_OK


def _name(feed: Feed) -> str:
    return f"Feed {feed.id} {feed.title!r}" if feed.title else f"Feed {feed.id}"


def _feed_command(args: argparse.Namespace, words: str) -> str:
    """A feed command to suggest, as the user would type it (program and collection)."""
    return f"{program_name()} feed {words}{chosen_articles(args)}"


def _in(collection: str | None) -> str:
    return f" in “{collection}”" if collection else ""


def _when(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
