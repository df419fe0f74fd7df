"""`quotebot add|remove|list`: the articles of a library collection, and what the other
commands use to find one (`existing_collection`) and to index it (`reindex`).

Registered by `build_parser` in main.py (`add_library_commands`).
"""

from __future__ import annotations

import argparse
import json
import urllib.parse
from pathlib import Path

from corpus import MAX_BYTES, Corpus, CorpusError, SeedFileError, meta_beside, read_regular_file
from corpus.sources import DEFAULT_COLLECTION, Library, StoredArticle

from ..settings import Settings, open_library
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    Command,
    UsageError,
    chosen_articles,
    print_error,
    print_out,
    program_name,
)

__all__ = ["add_library_commands", "existing_collection", "readable_size", "reindex"]


def add_library_commands(command: Command) -> None:
    add = command(
        "add",
        "add articles from links or files (.txt, .md, .html, .pdf) to a collection",
        [
            "https://example.org/news/story.html",
            "story.pdf notes.md --collection harbour",
        ],
    )
    add.add_argument("sources", nargs="+", metavar="URL|FILE", help="links or files to add")
    add.add_argument(
        "--collection", metavar="NAME", help=f"where to (default: {DEFAULT_COLLECTION})"
    )
    add.add_argument("--json", action="store_true", help="print JSON instead of text")
    add.set_defaults(handler=_add)

    remove = command(
        "remove", "remove an article from a collection", ["story", "story --collection harbour"]
    )
    remove.add_argument("id", help="the article's id (see `list`)")
    remove.add_argument(
        "--collection", metavar="NAME", help=f"from where (default: {DEFAULT_COLLECTION})"
    )
    remove.set_defaults(handler=_remove)

    listing = command(
        "list", "list a collection's articles: title, source, date, URL, size", ["", "--json"]
    )
    listing.add_argument(
        "--collection", metavar="NAME", help=f"which (default: {DEFAULT_COLLECTION})"
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")
    listing.set_defaults(handler=_list)


def existing_collection(library: Library, name: str) -> str:
    """`name`, if the library has that collection; otherwise a UsageError that lists the
    collections there are (a typo should not look like an empty collection)."""
    if name == DEFAULT_COLLECTION:
        library.seeds_dir(name)  # made on first use, with the bundled article
        return name
    known = library.collections()
    if name in known:
        return name
    import difflib  # only for a collection name that is not there

    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean “{close[0]}”?" if close else ""
    names = ", ".join(known) or "none yet"
    raise UsageError(
        f"There is no collection “{name}”.{hint} Collections: {names}. "
        f"{program_name()} add URL|FILE --collection {name} makes it."
    )


def _add(args: argparse.Namespace, settings: Settings) -> int:
    library = open_library(settings)
    collection = args.collection or DEFAULT_COLLECTION
    failed = 0
    added = []
    for source in args.sources:
        try:
            article, new = _add_one(library, collection, source, settings)
        except (CorpusError, UsageError) as exc:
            failed += 1
            said = str(exc)
            try:
                host = urllib.parse.urlsplit(source).netloc
            except ValueError:  # a malformed link ("http://[::1"): the message quotes it
                host = source
            print_error(said if host and host in said else f"{source}: {said}")
            continue
        added.append((article, new))
    if not added:
        return EXIT_USAGE
    stats = {d.id: d for d in reindex(library, collection, settings).stats().documents}
    for article, new in added:
        shown = stats.get(article.id)
        size = f"{shown.paragraphs} paragraphs, {shown.sentences} sentences" if shown else ""
        if args.json:
            print_out(
                json.dumps(
                    {
                        **vars(article),
                        "added": new,  # false: it was there already, and nothing changed
                        "paragraphs": shown and shown.paragraphs,
                        "sentences": shown and shown.sentences,
                    },
                    ensure_ascii=False,
                )
            )
        elif new:
            print_out(f"Added {article.id}: {article.title!r} ({size}) to “{collection}”.")
        else:
            print_out(
                f"Already in “{collection}” as {article.id}: {article.title!r}; not added again."
            )
    return EXIT_USAGE if failed else EXIT_OK


def _add_one(
    library: Library, collection: str, source: str, settings: Settings
) -> tuple[StoredArticle, bool]:
    if "://" in source:
        from corpus.sources import add_url  # the fetcher: only for adding pages

        return add_url(
            library, collection, source, private_networks=settings.fetch_private_networks
        )
    path = Path(source)
    try:  # a regular file only, no bigger than a page or an upload may be
        body = read_regular_file(path, limit=MAX_BYTES)
    except SeedFileError as exc:
        looks_like_a_link = not path.exists() and "." in source.split("/")[0]
        hint = "; for a link, start it with https://" if looks_like_a_link else ""
        raise UsageError(f"{exc.problem}{hint}") from exc
    return library.add(collection, body, path.suffix, wanted_id=path.stem, meta=meta_beside(path))


def reindex(library: Library, collection: str, settings: Settings) -> Corpus:
    """The collection's index brought up to date (only changed files are read)."""
    return Corpus.open(
        library.seeds_dir(collection), cache_dir=settings.cache_dir, config=settings.index_config()
    )


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    library = open_library(settings)
    collection = args.collection or DEFAULT_COLLECTION
    article = library.remove(collection, args.id)
    if library.articles(collection):
        reindex(library, collection, settings)  # the index forgets it now, not later
    print_out(f"Removed {article.id}: {article.title!r} from “{collection}”.")
    return EXIT_OK


def _list(args: argparse.Namespace, settings: Settings) -> int:
    library = open_library(settings)
    collection = existing_collection(library, args.collection or DEFAULT_COLLECTION)
    articles = library.articles(collection)
    if args.json:
        print_out(json.dumps([vars(a) for a in articles], ensure_ascii=False))
        return EXIT_OK
    if not articles:
        print_out(
            f"The collection “{collection}” has no articles yet. Add one with: "
            f"{program_name()} add URL|FILE{chosen_articles(args)}"
        )
        return EXIT_OK
    for a in articles:
        facts = ", ".join(f for f in (a.source, a.published, a.url, readable_size(a.bytes)) if f)
        print_out(f"{a.id}: {a.title!r} ({facts})")
    return EXIT_OK


def readable_size(size: int) -> str:
    """A size as people read it: "465 bytes", "12 kB", "3.4 MB" (never "0 kB")."""
    if size < 1000:
        return f"{size} byte" if size == 1 else f"{size} bytes"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12)):
        value = size / scale
        shown = f"{value:.1f}" if value < 9.95 else f"{value:.0f}"  # as rounded, not 10.0
        if float(shown) < 1000 or unit == "TB":
            return f"{shown} {unit}"
    raise AssertionError("unreachable")
