"""RSS and Atom feeds followed by collections: parsed from bytes, checked when added, polled
from a local web server (127.0.0.1 only), each item fetched once, failures backed off, the
state kept in SQLite across restarts, new articles posted once; and the `feed` commands."""

from __future__ import annotations

import datetime
import hashlib
import http.server
import json
import re
import subprocess
import threading

import pytest

from corpus import Corpus
from corpus.sources.feeds import FeedError, FeedStore, parse_feed
from corpus.sources.fetch import FetchError
from corpus.sources.library import Library
from tests.conftest import LOOPBACK_NETWORKS, run_cli

T0 = datetime.datetime(2024, 5, 6, 9, 0, tzinfo=datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)


def _page(title: str, date: str, paragraphs: list[str]) -> bytes:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!doctype html>
<html><head>
<title>{title} | Harbour Times</title>
<meta property="og:site_name" content="Harbour Times">
<meta property="article:published_time" content="{date}T08:00:00Z">
</head><body>
<nav><a href="/">Home</a> | <a href="/news/">News</a> | Subscribe now</nav>
<article>
<h1>{title}</h1>
{body}
</article>
<footer>Copyright 2024 Harbour Times.</footer>
</body></html>
""".encode()


ARTICLES = {
    "/news/ferry.html": _page(
        "Council approves the winter ferry timetable",
        "2024-05-01",
        [
            "The harbour council met on Monday evening in the old town hall.",
            "It approved the new winter ferry timetable, which starts in November.",
            "Boats will leave the north pier every forty minutes instead of every half hour.",
            "Residents welcomed the change, the mayor, Ana Ruiz, said after the vote.",
        ],
    ),
    "/news/library.html": _page(
        "Town library reopens after flood repairs",
        "2024-05-02",
        [
            "The town library reopened on Tuesday, eight months after the river flooded it.",
            "Volunteers dried and catalogued more than twelve thousand books over the winter.",
            "The children's room has moved upstairs, away from the water.",
            "The librarian, Tom Okafor, thanked the volunteers at a small ceremony.",
        ],
    ),
    "/news/bridge.html": _page(
        "Old stone bridge closes for repairs",
        "2024-05-03",
        [
            "The old stone bridge over the Wend closes to cars on the first of June.",
            "Engineers found cracks in two of its arches during an inspection in April.",
            "The repairs will cost about two million euros and take four months.",
            "Pedestrians and cyclists can still cross on a temporary footbridge.",
        ],
    ),
    "/news/market.html": _page(
        "Farmers' market moves to the harbour square",
        "2024-05-05",
        [
            "The Saturday farmers' market moves to the harbour square next month.",
            "Stallholders asked for the move because the old car park floods in spring.",
            "The market will open at seven in the morning and close at one.",
            "Twenty-six stalls have signed up, the organisers said on Friday.",
        ],
    ),
    "/news/menu.html": b"<html><body><nav><a href='/'>Home</a> | Subscribe</nav></body></html>",
}
# The ferry story again, under another address.
ARTICLES["/news/ferry-copy.html"] = ARTICLES["/news/ferry.html"]

RSS_ITEMS = {
    "ferry": ("Council approves the winter ferry timetable", "Wed, 01 May 2024 08:00:00 GMT"),
    "library": ("Town library reopens after flood repairs", "Thu, 02 May 2024 08:00:00 GMT"),
    "menu": ("Subscribe", "Thu, 02 May 2024 09:00:00 GMT"),
    "bridge": ("Old stone bridge closes for repairs", "Fri, 03 May 2024 08:00:00 GMT"),
    "market": ("Farmers' market moves to the harbour square", "Sun, 05 May 2024 08:00:00 GMT"),
    "ferry-copy": ("Ferry timetable (updated)", "Sun, 05 May 2024 09:00:00 GMT"),
}


def rss(base: str, names: list[str]) -> bytes:
    items = "".join(
        f"<item><title>{RSS_ITEMS[n][0].replace(chr(39), '&#39;')}</title>"
        f"<link>{base}/news/{n}.html</link><guid>{base}/news/{n}.html</guid>"
        f"<pubDate>{RSS_ITEMS[n][1]}</pubDate></item>"
        for n in reversed(names)  # newest first, as feeds are
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Harbour Times</title><link>{base}/</link>"
        f"<description>Local news</description>{items}</channel></rss>"
    ).encode()


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Harbour Times: works</title>
  <id>urn:harbour-times:works</id>
  <updated>2024-05-03T08:00:00Z</updated>
  <entry>
    <title>Old stone bridge closes for repairs</title>
    <id>urn:harbour-times:bridge</id>
    <link rel="alternate" href="/news/bridge.html"/>
    <updated>2024-05-03T08:00:00Z</updated>
  </entry>
</feed>
"""

HTML_WITH_FEED_LINK = b"""<!doctype html><html><head><title>Harbour Times</title>
<link rel="alternate" type="application/rss+xml" href="/rss.xml"></head>
<body><p>Welcome to the Harbour Times.</p></body></html>"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server = self.server
        server.requests.append((self.path, self.headers.get("If-None-Match")))  # type: ignore[attr-defined]
        held = server.holds.get(self.path)  # type: ignore[attr-defined]
        if held is not None:  # a slow page: answered once the test lets it go
            held.wait(30)
        status, kind, body = server.routes.get(self.path, (404, "text/html", b""))  # type: ignore[attr-defined]
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        if status == 200 and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if status == 200 and "xml" in kind:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Site:
    def __init__(self, server: http.server.ThreadingHTTPServer) -> None:
        self.server = server
        self.base = f"http://127.0.0.1:{server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, body: bytes, kind: str = "application/rss+xml", status=200):
        self.server.routes[path] = (status, kind, body)  # type: ignore[attr-defined]

    def feed(self, names: list[str]) -> None:
        self.serve("/rss.xml", rss(self.base, names))

    def hold(self, path: str) -> threading.Event:
        """Requests for `path` wait until the returned event is set."""
        event = threading.Event()
        self.server.holds[path] = event  # type: ignore[attr-defined]
        return event

    def requested(self, path: str) -> int:
        return sum(1 for p, _ in self.server.requests if p == path)  # type: ignore[attr-defined]

    @property
    def requests(self) -> list[tuple[str, str | None]]:
        return self.server.requests  # type: ignore[attr-defined]


@pytest.fixture
def site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []  # type: ignore[attr-defined]
    server.holds = {}  # type: ignore[attr-defined]
    server.routes = {p: (200, "text/html; charset=utf-8", b) for p, b in ARTICLES.items()}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    site = Site(server)
    site.feed(["ferry", "library", "menu"])
    site.serve("/atom.xml", ATOM, "application/atom+xml")
    site.serve("/broken.xml", b"Internal Server Error", "text/plain", status=500)
    site.serve("/front.html", HTML_WITH_FEED_LINK, "text/html")
    yield site
    server.shutdown()
    server.server_close()


def store_in(tmp_path, database_url=None, **options) -> FeedStore:
    return FeedStore(
        Library(tmp_path / "data", database_url=database_url),
        private_networks=lambda _: LOOPBACK_NETWORKS,
        **options,
    )


def test_rss_and_atom_are_parsed_and_anything_else_is_refused(site):
    feed = parse_feed(rss(site.base, ["ferry", "library"]), site.url("/rss.xml"))
    assert feed.kind == "rss20" and feed.title == "Harbour Times"
    assert [(e.link, e.title) for e in feed.entries] == [
        (site.url("/news/library.html"), "Town library reopens after flood repairs"),
        (site.url("/news/ferry.html"), "Council approves the winter ferry timetable"),
    ]
    assert feed.entries[0].published == datetime.datetime(2024, 5, 2, 8, tzinfo=datetime.UTC)
    atom = parse_feed(ATOM, site.url("/atom.xml"))  # its link is relative to the feed
    assert atom.kind == "atom10"
    assert [e.link for e in atom.entries] == [site.url("/news/bridge.html")]
    with pytest.raises(FeedError, match=r"is a web page, not an RSS or Atom feed; the page "):
        parse_feed(HTML_WITH_FEED_LINK, site.url("/front.html"))
    with pytest.raises(FeedError, match=r"names its feed, http://127\.0\.0\.1:\d+/rss\.xml"):
        parse_feed(HTML_WITH_FEED_LINK, site.url("/front.html"))
    with pytest.raises(FeedError, match="is not an RSS or Atom feed"):
        parse_feed(b"/etc/passwd", site.url("/odd"))  # bytes, never opened as a file name


def test_adding_a_feed_adds_its_items_once_and_posts_none_of_them(site, tmp_path, database_url):
    store = store_in(tmp_path, database_url)
    result = store.add(site.url("/rss.xml"), collection="harbour", channel_id=42, now=T0)
    assert result.ok and result.feed.title == "Harbour Times"
    assert [a.id for a in result.added] == ["ferry", "library"]  # oldest first
    assert result.added[0].url == site.url("/news/ferry.html")
    (skipped,) = result.skipped
    assert skipped.url.endswith("/menu.html") and "no article text" in skipped.reason
    assert [a.id for a in store.library.articles("harbour")] == ["ferry", "library"]
    (feed,) = store.feeds()
    assert (feed.id, feed.articles, feed.channel_id) == (result.feed.id, 2, 42)
    assert feed.next_poll_at == T0 + 15 * MINUTE and store.due(T0 + 14 * MINUTE) == []
    assert store.unposted_items() == []  # the backlog is not posted

    with pytest.raises(FeedError, match="already follows"):
        store.add(site.url("/rss.xml"), collection="harbour")
    with pytest.raises(FeedError, match="is a web page"):
        store.add(site.url("/front.html"), collection="harbour")
    with pytest.raises(FetchError, match="HTTP 500"):
        store.add(site.url("/broken.xml"), collection="harbour")
    site.serve("/logo.png", b"\x89PNG", "image/png")
    with pytest.raises(FetchError, match="is image/png, not one of application/rss"):
        store.add(site.url("/logo.png"), collection="harbour")
    assert [f.url for f in store.feeds()] == [site.url("/rss.xml")]  # failed adds store nothing


def test_a_feed_items_date_is_the_articles_when_its_page_gives_none(site, tmp_path, database_url):
    undated = re.sub(
        rb"<meta property=.article:published_time[^>]*>", b"", ARTICLES["/news/bridge.html"]
    )
    site.serve("/news/bridge.html", undated, "text/html; charset=utf-8")
    # Both items dated 4 May; the ferry page says 1 May itself, the bridge page nothing.
    feed = rss(site.base, ["ferry", "bridge"]).replace(b"01 May", b"04 May")
    site.serve("/rss.xml", feed.replace(b"03 May", b"04 May"))
    store = store_in(tmp_path, database_url)
    assert store.add(site.url("/rss.xml"), collection="harbour", now=T0).ok
    dates = {a.id: a.published for a in store.library.articles("harbour")}
    assert dates == {"ferry": "2024-05-01", "bridge": "2024-05-04"}
    corpus = Corpus.open(store.library.seeds_dir("harbour"), encoder=False)
    assert corpus.index.spans["bridge"].document.date == datetime.date(2024, 5, 4)


def test_polls_add_only_new_items_and_each_new_article_is_posted_once(site, tmp_path, database_url):
    store = store_in(tmp_path, database_url)
    feed = store.add(site.url("/rss.xml"), collection="harbour", channel_id=42, now=T0).feed
    unchanged = store.poll(feed, now=T0 + 16 * MINUTE)
    assert unchanged.ok and unchanged.not_modified and unchanged.added == ()
    assert site.requests[-1][0] == "/rss.xml" and site.requests[-1][1]  # sent If-None-Match
    site.feed(["ferry", "library", "menu", "market", "ferry-copy"])
    grown = store.poll(feed.id, now=T0 + 32 * MINUTE)
    assert [a.id for a in grown.added] == ["market"]
    (copy,) = grown.skipped
    assert copy.url.endswith("/ferry-copy.html") and copy.article_id == "ferry"
    assert "the same article is in “harbour” as ferry" in copy.reason
    assert [a.id for a in store.library.articles("harbour")] == ["ferry", "library", "market"]
    again = store.poll(feed.id, now=T0 + 48 * MINUTE)
    assert again.added == () and again.skipped == ()
    # every page fetched once, the page without an article too
    for name in ("ferry", "library", "menu", "market", "ferry-copy"):
        assert site.requested(f"/news/{name}.html") == 1, name

    (item,) = store.unposted_items(channel_id=42)
    assert (item.article.id, item.channel_id, item.feed_title) == ("market", 42, "Harbour Times")
    assert store.unposted_items(channel_id=7) == []
    restarted = store_in(tmp_path, database_url)  # a restart: a new process, the same data
    assert [i.article.id for i in restarted.unposted_items()] == ["market"]
    assert restarted.mark_posted(item.feed_id, item.url) is True
    assert store.mark_posted(item.feed_id, item.url) is False  # claimed already: not twice
    assert store_in(tmp_path, database_url).unposted_items() == []
    assert restarted.get(feed.id).articles == 3  # ferry, library, market


def test_a_poll_takes_at_most_so_many_items_and_the_rest_come_next(site, tmp_path, database_url):
    store = store_in(tmp_path, database_url, max_new_items=2)
    site.feed(["menu"])
    first = store.add(site.url("/rss.xml"), collection="c", backlog=0, now=T0)
    assert first.added == () and first.older_not_fetched == 1
    site.feed(["menu", "ferry", "library", "bridge"])
    poll = store.poll(first.feed, now=T0 + 16 * MINUTE)
    assert [a.id for a in poll.added] == ["library", "bridge"] and poll.deferred == 1
    later = store.poll(first.feed, now=T0 + 32 * MINUTE)  # read in full, not answered 304
    assert [a.id for a in later.added] == ["ferry"] and later.deferred == 0
    assert site.requested("/news/menu.html") == 0  # older than the backlog taken: never fetched


def test_failures_back_off_twice_as_long_each_time_and_a_good_poll_resets(
    site, tmp_path, database_url
):
    store = store_in(tmp_path, database_url)
    feed = store.add(site.url("/rss.xml"), collection="harbour", now=T0).feed
    good = site.server.routes["/rss.xml"]  # type: ignore[attr-defined]
    site.serve("/rss.xml", b"Internal Server Error", "text/plain", status=500)
    now, waits = T0 + 15 * MINUTE, []
    for _ in range(8):
        assert [f.id for f in store.due(now)] == [feed.id]
        (result,) = store.poll_due(now)
        assert "HTTP 500" in result.error and result.feed.last_error == result.error
        waits.append((result.feed.next_poll_at - now) // MINUTE)
        assert store.due(result.feed.next_poll_at - MINUTE) == []
        now = result.feed.next_poll_at
    assert waits == [30, 60, 120, 240, 480, 960, 1440, 1440]  # at most a day
    assert store_in(tmp_path, database_url).get(feed.id).failures == 8  # kept across a restart

    site.serve("/rss.xml", HTML_WITH_FEED_LINK, "text/html")  # a page, not the feed
    (result,) = store.poll_due(now)
    assert "is a web page" in result.error and result.feed.failures == 9

    site.server.routes["/rss.xml"] = good  # type: ignore[attr-defined]
    (result,) = store.poll_due(result.feed.next_poll_at)
    assert result.ok and result.feed.failures == 0 and result.feed.last_error is None
    assert result.feed.next_poll_at - result.feed.last_polled_at == 15 * MINUTE


def test_feeds_are_found_by_id_or_url_and_removed_keeping_their_articles(
    site, tmp_path, database_url
):
    store = store_in(tmp_path, database_url)
    rss_feed = store.add(site.url("/rss.xml"), collection="harbour", now=T0).feed
    other = store.add(site.url("/rss.xml"), collection="news", backlog=0, now=T0).feed
    atom = store.add(site.url("/atom.xml"), collection="harbour", now=T0).feed
    assert store.find(str(atom.id)).url == site.url("/atom.xml")
    with pytest.raises(FeedError, match="followed in “harbour”, “news”; name the collection"):
        store.find(site.url("/rss.xml"))
    assert store.find(site.url("/rss.xml"), collection="news").id == other.id
    with pytest.raises(FeedError, match="followed in “harbour”, not in “news”"):
        store.remove(rss_feed.id, collection="news")
    assert store.remove(site.url("/rss.xml"), collection="harbour").id == rss_feed.id
    assert [f.id for f in store.feeds()] == [other.id, atom.id]
    assert [f.id for f in store.feeds("harbour")] == [atom.id]
    ids = sorted(a.id for a in store.library.articles("harbour"))
    assert ids == ["bridge", "ferry", "library"]  # the removed feed's articles stay
    with pytest.raises(FeedError, match="There is no feed"):
        store.poll(rss_feed.id)


def _cli(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, *args, allow_private=True)


def test_the_feed_commands_from_add_to_ask(site, tmp_path):
    added = _cli(tmp_path, "feed", "add", site.url("/atom.xml"), "--collection", "harbour")
    assert added.returncode == 0, added.stderr
    assert "Feed 1 'Harbour Times: works' in “harbour”: 1 new article(s)" in added.stdout
    assert "bridge: 'Old stone bridge closes for repairs' (5 paragraphs" in added.stdout
    page = _cli(tmp_path, "feed", "add", site.url("/front.html"), "--collection", "harbour")
    assert page.returncode == 2 and "is a web page, not an RSS or Atom feed" in page.stderr

    site.serve("/atom.xml", ATOM.replace(b"bridge", b"market"), "application/atom+xml")
    polled = _cli(tmp_path, "feed", "poll", "--all")
    assert polled.returncode == 0, polled.stderr
    assert 'market: "Farmers\' market moves to the harbour square" (5 par' in polled.stdout
    listed = json.loads(_cli(tmp_path, "feed", "list", "--json").stdout)
    assert [(f["id"], f["url"], f["articles"], f["failures"]) for f in listed] == [
        (1, site.url("/atom.xml"), 2, 0)
    ]
    answer = json.loads(
        _cli(
            tmp_path, "ask", "--json", "--collection", "harbour", "When does the bridge close?"
        ).stdout
    )
    assert answer["found"] and "first of June" in answer["quotes"][0]["text"]
    assert answer["quotes"][0]["citation"]["doc_id"] == "bridge"

    removed = _cli(tmp_path, "feed", "remove", site.url("/atom.xml"))
    assert removed.returncode == 0 and "its 2 article(s) stay" in removed.stdout
    gone = _cli(tmp_path, "feed", "remove", "1")
    assert gone.returncode == 2 and "There is no feed 1." in gone.stderr


def test_an_item_is_posted_under_a_lease_that_another_process_takes_over(
    site, tmp_path, database_url
):
    store = store_in(tmp_path, database_url)
    feed = store.add(site.url("/rss.xml"), collection="harbour", channel_id=42, now=T0).feed
    site.feed(["ferry", "library", "menu", "market"])
    store.poll(feed.id, now=T0 + 16 * MINUTE)
    (item,) = store.unposted_items(now=T0 + 16 * MINUTE)
    other = store_in(tmp_path, database_url)  # another process
    taken = T0 + 20 * MINUTE
    assert store.claim(item.feed_id, item.url, now=taken)
    assert not other.claim(item.feed_id, item.url, now=taken + MINUTE)  # the lease runs
    assert other.unposted_items(now=taken + MINUTE) == []
    # The first process died before posting: once its lease has run out, the item is the
    # other's, and posted once.
    after = taken + 3 * MINUTE
    assert [i.url for i in other.unposted_items(now=after)] == [item.url]
    assert other.claim(item.feed_id, item.url, now=after)
    assert other.mark_posted(item.feed_id, item.url) is True
    assert store.unposted_items(now=after + 10 * MINUTE) == []
    assert not store.claim(item.feed_id, item.url, now=after + 10 * MINUTE)


def test_a_poll_killed_half_way_loses_no_item(site, tmp_path, database_url):
    """kill -9 of a process polling: the item it was fetching is fetched again by the next
    poll once the killed one's lease (its put-off next poll) has run out, and every new
    article waits to be posted, once."""
    import os
    import signal
    import sys

    store = store_in(tmp_path, database_url)
    added = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)  # due now
    store.add(site.url("/rss.xml"), collection="harbour", channel_id=42, now=added)
    site.feed(["ferry", "library", "menu", "bridge", "market"])
    released = site.hold("/news/market.html")
    poller = subprocess.Popen(
        [sys.executable, "-m", "bot", "feed", "poll"],
        env={
            **os.environ,
            "DATA_DIR": str(tmp_path / ("data" if database_url is None else "elsewhere")),
            "CACHE_DIR": str(tmp_path / "cache"),
            "HOME": str(tmp_path / "home"),
            "FETCH_PRIVATE_NETWORKS": "127.0.0.0/8",
            "FEED_INTERVAL_MINUTES": "0.05",  # its lease on the feed: 3 s
            **({"DATABASE_URL": database_url} if database_url else {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):  # until it is fetching the second new item
            if site.requested("/news/market.html") or poller.poll() is not None:
                break
            threading.Event().wait(0.05)
        assert site.requested("/news/market.html") == 1
        os.kill(poller.pid, signal.SIGKILL)
        poller.wait(10)
    finally:
        released.set()
        if poller.poll() is None:
            poller.kill()
    assert [i.article.id for i in store.unposted_items()] == ["bridge"]
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
    (result,) = store.poll_due(later)  # the killed poll's lease has run out
    assert [a.id for a in result.added] == ["market"]
    assert [i.article.id for i in store.unposted_items(now=later)] == ["bridge", "market"]
    assert sorted(a.id for a in store.library.articles("harbour")) == [
        "bridge",
        "ferry",
        "library",
        "market",
    ]


def test_a_feed_title_with_a_nul_character_is_stored_on_both_backends(site, tmp_path, database_url):
    """PostgreSQL's text holds no NUL (SQLite's does): one in a feed item's title, as
    `&#0;` gives it, is dropped rather than failing the poll, item after item."""
    store = store_in(tmp_path, database_url)
    feed = store.add(site.url("/rss.xml"), collection="harbour", channel_id=42, now=T0).feed
    body = rss(site.base, ["ferry", "library", "menu", "market"])
    site.serve("/rss.xml", body.replace(b"<title>Farmers", b"<title>Farmers&#0;"))
    result = store.poll(feed.id, now=T0 + 16 * MINUTE)
    assert result.ok and [a.id for a in result.added] == ["market"], result
