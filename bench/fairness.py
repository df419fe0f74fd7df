"""How much later each server's work finishes while ten servers add slow links and hostile
files at once than it does with that server alone: the issue 16 target is at most 5 s.

    python bench/fairness.py                        # 10 busy and 2 quiet servers (~7 min)
    python bench/fairness.py --slow-seconds 10      # shorter slow links (~4 min)

Through the bot's CorpusService, with a web server on 127.0.0.1 (tests/local_site.py). Each
busy server adds a slow link (a page that trickles a byte every half second for
`--slow-seconds`, standing in for a link that runs to the fetch deadline) and a file, made
here, in turn: a .txt of unique words, a gzip bomb uploaded as .html (inflating past the 5 MB
limit), a PDF whose pages all share one content stream, or a heavy page within the limits
(gzip, inflating to `--page-mb`). Quiet servers add neither.

"Alone" is a server's whole workload with no other server at work: its own slow link and file
started, then, once they are under way, its ordinary link add, a feed follow (one new item)
and a poll of its feed (one new item), and the slow link and file awaited. "Together" is the
same for every server at once, in a fresh data directory. Each operation's delay is together
minus alone: what the other servers' load cost it. A busy server's ordinary changes wait
behind its own file in both (a server's changes run one at a time, in order).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gzip
import http.server
import random
import shutil
import string
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bot.discord.app import share_the_interpreter  # noqa: E402
from bot.discord.service import CorpusService  # noqa: E402
from corpus.sources.addresses import parse_networks  # noqa: E402
from corpus.sources.feeds import Feed, FeedStore  # noqa: E402
from corpus.sources.library import Library  # noqa: E402
from tests.local_site import Site, serve  # noqa: E402

HTML = {"Content-Type": "text/html; charset=utf-8"}
STORY = (
    "<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    "<p>{first}</p><p>The council will publish its full report next month, a spokesperson "
    "said on Friday.</p><p>Residents can comment on the plans at the library until the end "
    "of the year.</p></article></body></html>"
)
KINDS = ("txt", "bomb", "pdf", "page")
LOOPBACK = parse_networks("127.0.0.0/8")  # the bench's web server, allowed to every server


# Hostile files


def unique_words_txt(megabytes: float) -> bytes:
    """Paragraphs of random words, none repeated: the index's vocabulary grows with each."""
    chance = random.Random(1)
    words, size = [], 0
    while size < megabytes * 1024 * 1024:
        word = "".join(chance.choices(string.ascii_lowercase, k=chance.randint(6, 10)))
        words.append(word)
        size += len(word) + 1
        if len(words) % 12 == 0:
            words.append("end.\n\n")
    return ("Unique words\n\n" + " ".join(words)).encode()


def gzip_bomb_html(megabytes: float) -> bytes:
    """A gzip file named .html: distinct paragraphs that inflate about ten times."""
    paragraphs, size, n = [], 0, 0
    while size < megabytes * 1024 * 1024:
        paragraph = (
            f"<p>Paragraph {n}: the harbour board said ferry {n} will run every "
            f"{n % 7 + 2} hours from pier {n * 7919 % 1000}.</p>\n"
        )
        paragraphs.append(paragraph)
        size += len(paragraph)
        n += 1
    page = (
        "<html><head><title>Ferries</title></head><body><article>"
        + "".join(paragraphs)
        + "</article></body></html>"
    )
    return gzip.compress(page.encode(), 9)


def shared_stream_pdf(pages: int, stream_kb: int = 64) -> bytes:
    """A PDF whose pages all draw one content stream: small, but each page is read anew."""
    lines = [
        f"BT /F1 8 Tf 20 {800 - (n % 90) * 9} Td (Line {n} of the shared stream.) Tj ET"
        for n in range(stream_kb * 1024 // 60)
    ]
    content = "\n".join(lines).encode()
    kids = " ".join(f"{5 + n} 0 R" for n in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    ] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        table,
    )
    return bytes(out)


# The web server


def trickle(seconds: float) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    """A page that sends its headers, then a byte every half second for `seconds`."""

    def route(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html><p>")
        handler.wfile.flush()
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            time.sleep(0.5)
            handler.wfile.write(b"x")
            handler.wfile.flush()

    return route


def publish(site: Site, path: str, items: list[tuple[str, str]]) -> None:
    """An RSS feed at `path` of stories (slug, title), each a page of the site."""
    entries = "".join(
        f"<item><title>{title}</title><link>{site.url('/story/' + slug)}</link></item>"
        for slug, title in items
    )
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Valley Times</title>'
        f"<link>{site.url('/')}</link><description>News</description>{entries}</channel></rss>"
    )
    site.routes[path] = (200, {"Content-Type": "application/rss+xml"}, feed.encode())
    for slug, title in items:
        first = f"The story {slug} says the valley council met on Monday about {title}."
        site.routes[f"/story/{slug}"] = (200, HTML, STORY.format(title=title, first=first).encode())


# Measuring


class TimedService(CorpusService):
    """The service, noting when each feed's poll (and its index update) has finished."""

    polled_at: dict[int, float]

    async def _poll_one(self, store: FeedStore, feed: Feed) -> None:
        await super()._poll_one(store, feed)
        self.polled_at[feed.id] = time.perf_counter()


@dataclass
class Server:
    guild: int
    kind: str | None  # its hostile file's kind; None: a quiet server
    alone: dict[str, float] = field(default_factory=dict)
    together: dict[str, float] = field(default_factory=dict)


OPERATIONS = ("link add", "feed add", "poll", "slow link", "hostile file")


async def timed(work: Awaitable[object]) -> float:
    started = time.perf_counter()
    try:
        await work
    except Exception as error:  # a failure still has a time; say what it was
        print(f"  ({type(error).__name__}: {str(error)[:100]})")
    return time.perf_counter() - started


def open_service(scratch: Path) -> TimedService:
    seeds = scratch / "seeds"
    seeds.mkdir(parents=True)
    (seeds / "owls.txt").write_text("Owls\n\nOwls hunt at night. They eat mice.\n")
    service = TimedService.open(
        seeds,
        cache_dir=scratch / "cache",
        max_question_chars=500,
        library=Library(scratch / "data"),
        private_networks=lambda guild: LOOPBACK,
        feed_interval=datetime.timedelta(days=1),  # polled only when the bench says
    )
    service.polled_at = {}
    return service


async def settled(service: CorpusService) -> None:
    """Wait for the work the service goes on with in the background (indexes catching up),
    so that it does not slow down what is measured next."""
    pools = (service._writes, service._reads, service._fetches, service._feed_polls)
    while any(pool.busy() for pool in pools):
        await asyncio.sleep(0.05)


def make_due(service: CorpusService, feed_ids: list[int]) -> None:
    assert service.library is not None
    with service.library.transaction() as db:
        db.executemany(
            "UPDATE feeds SET next_poll_at = '2000-01-01T00:00:00+00:00' WHERE id = ?",
            [(feed_id,) for feed_id in feed_ids],
        )


async def follow_poll_feeds(service: CorpusService, site: Site, servers: list[Server]) -> dict:
    """Each server follows a feed of its own before anything is measured; a new item is
    then published in each, for the poll."""
    feeds = {}
    for server in servers:
        path = f"/polled/{server.guild}.xml"
        publish(site, path, [(f"old-{server.guild}", "Old news")])
        result = await service.add_feed(server.guild, site.url(path), None)
        feeds[server.guild] = result.feed.id
        publish(site, path, [(f"new-{server.guild}", "New news"), (f"old-{server.guild}", "Old")])
    return feeds


async def poll_round(service: TimedService, feed_ids: list[int]) -> float:
    make_due(service, feed_ids)
    started = time.perf_counter()
    await service.poll_feeds()
    return started


def ordinary(site: Site, server: Server) -> tuple[str, str]:
    return site.url(f"/ordinary/{server.guild}"), site.url(f"/followed/{server.guild}.xml")


async def alone(
    site: Site, servers: list[Server], files: dict[str, tuple[str, bytes]], scratch: Path
) -> None:
    """Each server's whole workload (its own slow link and hostile file too, for a busy one)
    with no other server at work: what "alone" means in the target."""
    service = open_service(scratch)
    try:
        feeds = await follow_poll_feeds(service, site, servers)
        await settled(service)
        for server in servers:
            heavy = start_heavy(service, site, server, files)
            await asyncio.sleep(1.0)  # as together: the heavy work is under way
            link, feed = ordinary(site, server)
            server.alone["link add"] = await timed(service.add_url(server.guild, link))
            server.alone["feed add"] = await timed(service.add_feed(server.guild, feed, None))
            started = await poll_round(service, [feeds[server.guild]])
            server.alone["poll"] = service.polled_at[feeds[server.guild]] - started
            for what, task in heavy.items():
                server.alone[what] = await task
            await settled(service)
    finally:
        service.close()


def start_heavy(
    service: CorpusService, site: Site, server: Server, files: dict[str, tuple[str, bytes]]
) -> dict[str, asyncio.Future[float]]:
    """A busy server's slow link and hostile file, started (none for a quiet server)."""
    if server.kind is None:
        return {}
    name, body = files[server.kind]
    slow = service.add_url(server.guild, site.url(f"/slow/{server.guild}"))
    hostile = service.add_file(server.guild, name, body)
    return {
        "slow link": asyncio.ensure_future(timed(slow)),
        "hostile file": asyncio.ensure_future(timed(hostile)),
    }


async def hostile_alone(files: dict[str, tuple[str, bytes]], scratch: Path) -> dict[str, float]:
    service = open_service(scratch)
    try:
        times = {}
        for n, (kind, (name, body)) in enumerate(files.items()):
            times[kind] = await timed(service.add_file(900 + n, name, body))
            await settled(service)
        return times
    finally:
        service.close()


async def together(
    site: Site, servers: list[Server], files: dict[str, tuple[str, bytes]], scratch: Path
) -> None:
    service = open_service(scratch)
    try:
        feeds = await follow_poll_feeds(service, site, servers)
        await settled(service)
        heavy = {server.guild: start_heavy(service, site, server, files) for server in servers}
        await asyncio.sleep(1.0)  # the slow links are trickling and the files being parsed

        async def each(operation: str, work: Callable[[Server], Awaitable[object]]) -> None:
            times = await asyncio.gather(*(timed(work(server)) for server in servers))
            for server, seconds in zip(servers, times, strict=True):
                server.together[operation] = seconds

        await each("link add", lambda s: service.add_url(s.guild, ordinary(site, s)[0]))
        await each("feed add", lambda s: service.add_feed(s.guild, ordinary(site, s)[1], None))
        started = await poll_round(service, list(feeds.values()))
        for server in servers:
            server.together["poll"] = service.polled_at[feeds[server.guild]] - started
        for server in servers:
            for what, task in heavy[server.guild].items():
                server.together[what] = await task
        await settled(service)
    finally:
        service.close()


def report(servers: list[Server], hostile: dict[str, float]) -> None:
    print("\nEach operation's delay: together - alone (the same server's whole workload alone)")
    print("server  load   " + "".join(f"{op:>24}" for op in OPERATIONS))
    print(" " * 15 + "   alone  together   delay" * len(OPERATIONS))
    worst = {"busy": 0.0, "quiet": 0.0}
    for server in servers:
        cells = []
        for op in OPERATIONS:
            if op not in server.alone:
                cells.append(" " * 26)
                continue
            delay = server.together[op] - server.alone[op]
            group = "quiet" if server.kind is None else "busy"
            worst[group] = max(worst[group], delay)
            cells.append(f"{server.alone[op]:8.2f}{server.together[op]:10.2f}{delay:8.2f}")
        print(f"{server.guild:>6}  {server.kind or 'quiet':<6}" + "".join(cells))
    print("\nHostile files alone, in a service of their own:")
    for kind, seconds in hostile.items():
        print(f"  {kind:<6} {seconds:6.1f} s")
    print(f"\nWorst delay of a quiet server: {worst['quiet']:.2f} s")
    print(f"Worst delay of a busy server: {worst['busy']:.2f} s")
    print(f"Worst delay: {max(worst.values()):.2f} s (target: at most 5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=10, help="busy servers")
    parser.add_argument("--quiet", type=int, default=2, help="servers with no heavy work")
    parser.add_argument("--slow-seconds", type=float, default=30.0)
    parser.add_argument("--txt-mb", type=float, default=2.0)
    parser.add_argument("--bomb-mb", type=float, default=20.0, help="the bomb's inflated size")
    parser.add_argument(
        "--page-mb", type=float, default=2.0, help="a heavy page within the limits (as gzip)"
    )
    parser.add_argument("--pdf-pages", type=int, default=100)
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="seconds between the GIL's turns (default: the bot's, bot.discord.app."
        "GIL_SWITCH_SECONDS; Python's own is 0.005)",
    )
    args = parser.parse_args()
    share_the_interpreter()  # as `run` does
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    print(f"GIL switch interval: {sys.getswitchinterval() * 1000:g} ms")
    files = {
        "txt": ("unique.txt", unique_words_txt(args.txt_mb)),
        "bomb": ("bomb.html", gzip_bomb_html(args.bomb_mb)),
        "page": ("page.html", gzip_bomb_html(args.page_mb)),
        "pdf": ("shared.pdf", shared_stream_pdf(args.pdf_pages)),
    }
    servers = [Server(1 + n, KINDS[n % len(KINDS)]) for n in range(args.servers)]
    servers += [Server(1 + args.servers + n, None) for n in range(args.quiet)]
    scratch = Path(tempfile.mkdtemp(prefix="quotebot-fairness-"))
    try:
        with serve({}) as site:
            for server in servers:
                site.routes[f"/slow/{server.guild}"] = trickle(args.slow_seconds)
                first = f"Server {server.guild}'s reporter says the ferry returns in May."
                page = STORY.format(title=f"Ferry news {server.guild}", first=first)
                site.routes[f"/ordinary/{server.guild}"] = (200, HTML, page.encode())
                slug = f"followed-{server.guild}"
                publish(site, f"/followed/{server.guild}.xml", [(slug, "Bridge news")])
            print(f"{args.servers} busy and {args.quiet} quiet servers; slow links trickle for")
            print(
                f"{args.slow_seconds:g} s; hostile files: "
                + ", ".join(
                    f"{kind} {len(body) / 1024:.0f} KB" for kind, (_, body) in files.items()
                )
            )
            hostile = asyncio.run(hostile_alone(files, scratch / "hostile"))
            asyncio.run(alone(site, servers, files, scratch / "alone"))
            asyncio.run(together(site, servers, files, scratch / "together"))
        report(servers, hostile)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
