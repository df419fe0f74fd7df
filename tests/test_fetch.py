"""Fetching links the way `add` does, against a web server on 127.0.0.1 serving the fixture
news pages (tests/data/sites) and pages that fail in every way a real site can: error statuses,
a server that never answers or answers a byte at a time, redirect loops and redirects into the
local network, bodies beyond 5 MB, types that are no article, a charset named only in the
header, and a page with no article on it. (tests/test_library.py has the simpler cases.)"""

from __future__ import annotations

import contextlib
import io
import socket
import time
from pathlib import Path

import pytest

from bot.cli.main import main
from corpus.ingest.formats import extract
from corpus.sources.fetch import MAX_BYTES, MAX_REDIRECTS, FetchError, fetch
from corpus.sources.library import Library, LibraryError
from tests.conftest import LOOPBACK, LOOPBACK_NETWORKS
from tests.data.sites.pages import load_pages, page_routes
from tests.local_site import serve

PAGES = {page.name: page for page in load_pages()}
CAFE = PAGES["ashcombe-echo-cafe-prize"]
SECTION = PAGES["harbour-gazette-world-section"]
FERRY = PAGES["harbour-gazette-ferry-strike"]
# An address on the public internet (once example.com's); the tests below route connections
# to it back to the local server, and never reach it.
PUBLIC_ADDRESS = "93.184.215.14"
PUBLIC_HOST = "news.public-site.example"


def _slow_headers(handler) -> None:
    time.sleep(3)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.end_headers()


def _trickle(handler) -> None:
    """The headers at once, then a byte every twentieth of a second: each read is quick, the
    body never ends in time."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.end_headers()
    for _ in range(200):
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(0.05)


def _stream(total: int):
    def answer(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")  # no Content-Length: to the end
        handler.end_headers()
        chunk = b"word " * 13_000
        sent = 0
        while sent < total:
            handler.wfile.write(chunk)
            sent += len(chunk)

    return answer


def _endless(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.end_headers()
    while True:  # until the client hangs up
        handler.wfile.write(b"<p>" + b"more " * 2000 + b"</p>")


XHTML = (
    '<?xml version="1.0" encoding="windows-1252"?>\n'
    '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Fête</title></head><body>'
    "<article><p>The village fête raised £1,200 for the church roof on Saturday.</p>"
    "<p>Organisers said the crème brûlée stall sold out by noon, and the vicar’s tombola "
    "was the busiest it had been in a decade.</p></article></body></html>"
).encode("cp1252")

ROUTES = {
    **page_routes(list(PAGES.values())),
    # The same windows-1252 bytes, labelled as browsers read them: ISO-8859-1 means 1252.
    "/latin1/cafe.html": (200, {"Content-Type": "text/html; charset=ISO-8859-1"}, CAFE.body),
    "/cp1252.txt": (
        200,
        {"Content-Type": 'text/plain; charset="windows-1252"'},
        "The café’s crème brûlée costs £4.50.\n\nIt sells out by noon.".encode("cp1252"),
    ),
    "/bom.txt": (
        200,
        {"Content-Type": "text/plain; charset=windows-1252"},
        "\ufeffThe café’s crème brûlée costs £4.50.".encode("utf-8"),
    ),
    "/fete.xhtml": (200, {"Content-Type": "application/xhtml+xml; charset=windows-1252"}, XHTML),
    "/not-found": (404, {"Content-Type": "text/html"}, FERRY.body),
    "/gone": (410, {"Content-Type": "text/html"}, b"<p>This story has been removed.</p>"),
    "/broken": (500, {"Content-Type": "text/html"}, b"<h1>Internal Server Error</h1>"),
    "/busy": (503, {"Content-Type": "text/html", "Retry-After": "120"}, b"Try later"),
    "/slow": _slow_headers,
    "/trickle": _trickle,
    "/six-megabytes.txt": _stream(6 * 2**20),
    "/four-megabytes.txt": _stream(4 * 2**20),
    "/endless.html": _endless,
    "/download": (200, {"Content-Type": "application/octet-stream"}, b"\x00\x01" * 100),
    "/photo.png": (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
    "/data.json": (200, {"Content-Type": "application/json"}, b'{"story": "json"}'),
    "/untyped": (200, {}, FERRY.body),
    "/ping": (302, {"Location": "/pong"}, b""),
    "/pong": (302, {"Location": "/ping"}, b""),
    **{f"/hop/{n}": (302, {"Location": f"/hop/{n + 1}"}, b"") for n in range(10)},
    **{
        f"/hop/{n}": (302, {"Location": FERRY.path}, b"")
        for n in (MAX_REDIRECTS, MAX_REDIRECTS + 1)
    },
}


@pytest.fixture(scope="module")
def site():
    with serve(ROUTES) as server:
        yield server


def _fetch(site, path: str, **options):
    return fetch(site.url(path), private_networks=LOOPBACK_NETWORKS, **options)


@pytest.mark.parametrize("page", list(PAGES.values()), ids=lambda p: p.name)
def test_every_fixture_page_is_fetched_as_a_web_page(site, page):
    fetched = _fetch(site, page.path)
    assert fetched.suffix == ".html" and fetched.url == site.url(page.path)
    if "utf-8" in page.content_type:
        assert fetched.body == page.body  # stored as it came


@pytest.mark.parametrize(
    ("path", "status"), [("/not-found", 404), ("/gone", 410), ("/broken", 500), ("/busy", 503)]
)
def test_an_error_status_is_refused_even_with_a_page_attached(site, path, status):
    with pytest.raises(FetchError, match=f"answered HTTP {status}, not the page"):
        _fetch(site, path)


def test_a_server_that_does_not_answer_in_time_is_given_up_on(site):
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"did not answer within 0\.3 seconds"):
        _fetch(site, "/slow", timeout=0.3)
    assert time.monotonic() - started < 2


def test_a_body_sent_a_byte_at_a_time_is_given_up_on(site):
    # Every read comes within the timeout; the whole answer must come within the deadline.
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"too slow: the whole answer did not come within 1\.5 s"):
        _fetch(site, "/trickle", timeout=0.5, deadline=1.5)
    assert time.monotonic() - started < 4


def test_a_redirect_loop_is_given_up_on_after_the_limit(site):
    before = len(site.requests)
    with pytest.raises(FetchError, match=f"redirects more than {MAX_REDIRECTS} times"):
        _fetch(site, "/ping")
    assert len(site.requests) - before == MAX_REDIRECTS + 1


def test_redirects_up_to_the_limit_are_followed_and_one_more_is_not(site):
    assert _fetch(site, "/hop/1").url == site.url(FERRY.path)  # 5 redirects
    with pytest.raises(FetchError, match="redirects more than"):
        _fetch(site, "/hop/0")  # 6


@pytest.fixture
def public_dns(site, monkeypatch):
    """PUBLIC_HOST resolves to a public address, and connections to that address reach the
    local server: a site on the internet, as far as fetch can tell. Every connection made
    is recorded, and one to anywhere but that address or loopback is refused, so that a
    broken address check cannot reach into a real network."""
    real_resolve, real_connect = socket.getaddrinfo, socket.create_connection
    connections: list[tuple[str, int]] = []

    def resolve(host, port, *args, **kwargs):
        if host == PUBLIC_HOST:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port))]
        return real_resolve(host, port, *args, **kwargs)

    def connect(address, *args, **kwargs):
        connections.append(address)
        host, port = address[:2]
        if host == PUBLIC_ADDRESS:
            return real_connect(("127.0.0.1", port), *args, **kwargs)
        if host in ("127.0.0.1", "::1"):
            return real_connect(address, *args, **kwargs)
        raise ConnectionRefusedError(111, "refused by the test: not the local server")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket, "create_connection", connect)
    return connections


def _public(site, path: str) -> str:
    return f"http://{PUBLIC_HOST}:{site.port}{path}"


def test_a_public_site_is_fetched_through_the_address_that_was_checked(site, public_dns):
    site.routes["/public/moved"] = (302, {"Location": _public(site, FERRY.path)}, b"")
    fetched = fetch(_public(site, "/public/moved"))  # addresses checked, not allowed private
    assert fetched.url == _public(site, FERRY.path) and fetched.body == FERRY.body
    assert public_dns == [(PUBLIC_ADDRESS, site.port)] * 2  # pinned to the checked address


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/news/harbour-gazette-ferry-strike.html",
        "http://localhost:{port}/",
        "http://[::1]:{port}/",
        "http://10.0.0.7/admin",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
    ],
)
def test_a_redirect_into_the_local_network_is_refused(site, public_dns, target):
    location = target.format(port=site.port)
    site.routes["/public/inside"] = (302, {"Location": location}, b"")
    before = len(site.requests)
    with pytest.raises(FetchError, match="points to a private or local address"):
        fetch(_public(site, "/public/inside"))
    assert [path for path, _ in site.requests[before:]] == ["/public/inside"]
    assert public_dns == [(PUBLIC_ADDRESS, site.port)]  # nothing else was connected to
    # The same redirect is followed when private addresses are allowed (and the loopback
    # ones lead back to the server).
    if "127.0.0.1" in location:
        assert (
            fetch(_public(site, "/public/inside"), private_networks=LOOPBACK_NETWORKS).body
            == FERRY.body
        )


def test_a_host_with_any_private_address_is_refused(site, monkeypatch):
    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ]

    def connect(address, *args, **kwargs):
        raise ConnectionRefusedError(111, "refused by the test: nothing is connected to")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket, "create_connection", connect)
    with pytest.raises(FetchError, match="private or local address"):
        fetch(f"http://{PUBLIC_HOST}:{site.port}/")


def test_a_body_beyond_5_mb_without_a_stated_length_is_refused(site):
    with pytest.raises(FetchError, match="larger than 5 MB"):
        _fetch(site, "/six-megabytes.txt")
    assert len(_fetch(site, "/four-megabytes.txt").body) > 4 * 2**20  # below it: read whole


def test_an_endless_body_is_cut_off_at_the_limit(site):
    started = time.monotonic()
    with pytest.raises(FetchError, match="larger than 5 MB"):
        _fetch(site, "/endless.html")
    assert time.monotonic() - started < 5
    assert MAX_BYTES == 5 * 2**20


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/download", "application/octet-stream"),
        ("/photo.png", "image/png"),
        ("/data.json", "application/json"),
        ("/untyped", "of no stated type"),
    ],
)
def test_what_is_no_article_by_its_type_is_refused(site, path, kind):
    with pytest.raises(FetchError, match=f"is {kind}, not a web page, text, Markdown or PDF"):
        _fetch(site, path)


@pytest.mark.parametrize("path", [CAFE.path, "/latin1/cafe.html"])
def test_a_charset_named_only_in_the_header_is_read(site, path):
    fetched = _fetch(site, path)
    fetched.body.decode("utf-8")  # stored as UTF-8, since the header is not stored
    text = extract(Path(f"cafe{fetched.suffix}"), fetched.body).text
    for words in ("crème brûlée", "Éloïse Durand", "Raphaël", "£500", "Ashcombe’s", "naïve"):
        assert words in text
    assert "“completely lost for words”" in text and "patience — you" in text
    assert [s for s in CAFE.sentences if s not in text] == []


def test_a_text_file_and_an_xhtml_page_in_windows_1252_are_read(site, tmp_path):
    xhtml = _fetch(site, "/fete.xhtml").body.decode("utf-8")
    assert xhtml.startswith('<?xml version="1.0" encoding="utf-8"?>')  # as it now is
    library = Library(tmp_path / "data")
    for path in ("/cp1252.txt", "/fete.xhtml"):
        fetched = _fetch(site, path)
        library.add("c", fetched.body, fetched.suffix, wanted_id=path.strip("/"))
    by_suffix = {a.suffix: a for a in library.articles("c")}
    text = (tmp_path / "data" / "texts" / f"{by_suffix['.txt'].sha256}.txt").read_text("utf-8")
    assert text.startswith("The café’s crème brûlée costs £4.50.")
    stored = tmp_path / "data" / "texts" / f"{by_suffix['.html'].sha256}.html"
    page = extract(stored, stored.read_bytes()).text
    assert "The village fête raised £1,200" in page and "the vicar’s tombola" in page
    # A byte-order mark outranks the header: this one is UTF-8, whatever the header says.
    bom = _fetch(site, "/bom.txt")
    assert extract(Path("bom.txt"), bom.body).text == "The café’s crème brûlée costs £4.50."


def test_a_page_with_no_article_is_refused_with_a_clear_message(site, tmp_path):
    fetched = _fetch(site, SECTION.path)
    with pytest.raises(LibraryError, match=r"the page holds menus or links only"):
        Library(tmp_path / "data").add("c", fetched.body, ".html", wanted_id="world")


def test_adding_a_page_with_no_article_exits_2_and_says_why(site, tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FETCH_PRIVATE_NETWORKS", LOOPBACK)
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        code = main(["add", site.url(SECTION.path)])
    assert code == 2
    assert "no article text (the page holds menus or links only)" in errors.getvalue()
    stored = Library(tmp_path / "data").articles("default")
    assert site.url(SECTION.path) not in [a.url for a in stored]
