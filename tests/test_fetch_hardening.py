"""The fetch hardening of issue 16, each driven the way the attack was: a real local TCP server
that trickles its answer a byte at a time (status line, headers, a chunk's size line), real
local web servers that send compressed bodies and hostile charsets, a server on the IPv6
loopback, the command line at its boundary, and the fake Discord for the per-server rule on
private addresses."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from corpus.ingest.encodings import lookup
from corpus.ingest.formats import decode_declared, extract
from corpus.ingest.limits import DecodedTooLarge, gunzip_limited
from corpus.sources.addresses import embedded_ipv4, is_allowed, is_public, parse_networks
from corpus.sources.feeds import FEED_TYPES
from corpus.sources.fetch import MAX_BYTES, BadURL, FetchError, fetch
from tests.conftest import LOOPBACK, LOOPBACK_NETWORKS, run_cli
from tests.data.sites.pages import load_pages
from tests.discord_harness import running_bot
from tests.fake_discord import OTHER_GUILD_CHANNEL_ID, OTHER_GUILD_ID, slash
from tests.local_site import serve
from tests.test_discord import no_logged_errors  # noqa: F401 - the autouse fixture
from tests.test_discord_articles import ADMIN, final_reply

FERRY = {page.name: page for page in load_pages()}["harbour-gazette-ferry-strike"]

# ---------------------------------------------------------------- one deadline


@contextlib.contextmanager
def trickling_server(prefix: bytes, byte: bytes, scheme: str = "http") -> Iterator[str]:
    """A raw TCP server on 127.0.0.1 that reads the request, sends `prefix` at once and then
    `byte` every 0.2 s for as long as the client listens. Yields a URL on it. (For https, the
    request is the client's TLS hello, and what comes back is no TLS.)"""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def trickle(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):  # the client gave up, as it should
            connection.settimeout(5)
            connection.recv(65536)
            connection.sendall(prefix)
            while not stop.is_set():
                connection.sendall(byte)
                stop.wait(0.2)

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=trickle, args=(connection,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"{scheme}://127.0.0.1:{listener.getsockname()[1]}/story"
    finally:
        stop.set()
        acceptor.join()
        listener.close()


@pytest.mark.parametrize(
    ("prefix", "byte"),
    [
        (b"HTTP/1.0 2", b"0"),  # the status line never ends
        (b"HTTP/1.0 200 OK\r\nX-Slow: ", b"a"),  # nor does a header
        (  # nor does a chunk's size line
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"0",
        ),
        (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n", b"x"),  # nor the body
    ],
    ids=["status line", "header", "chunk size", "body"],
)
def test_a_server_that_trickles_any_part_of_its_answer_is_given_up_on(prefix, byte):
    # Each byte comes well within the per-step timeout (5 s); the whole fetch has 1 s.
    with trickling_server(prefix, byte) as url:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"too slow: the whole answer did not come within 1 s"):
            fetch(url, private_networks=LOOPBACK_NETWORKS, timeout=5, deadline=1)
        assert time.monotonic() - started < 10  # it ended: a hang would never get here


def test_a_tls_handshake_that_never_ends_is_given_up_on():
    with trickling_server(b"", b"", scheme="https") as url:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"too slow: the whole answer did not come within 1 s"):
            fetch(url, private_networks=LOOPBACK_NETWORKS, timeout=5, deadline=1)
        assert time.monotonic() - started < 10


def test_the_deadline_covers_every_redirect_together():
    hops = {f"/hop/{n}": _slow_redirect(f"/hop/{n + 1}") for n in range(5)}
    with serve(hops) as site, pytest.raises(FetchError, match="did not come within 1 s"):
        fetch(site.url("/hop/0"), private_networks=LOOPBACK_NETWORKS, timeout=5, deadline=1)


def _slow_redirect(location: str):
    def answer(handler) -> None:
        time.sleep(0.4)  # each hop is quick enough; five of them are not
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


# ---------------------------------------------------------------- compressed bodies

# 21 MB of page in about 20 KB of gzip: stored as it came, it would be inflated later.
BOMB = gzip.compress(b"<p>" + b"more words " * (2 * 2**20) + b"</p>", 9)
HTML = "text/html; charset=utf-8"


def _echo_accept_encoding(handler) -> None:
    said = handler.headers.get("Accept-Encoding", "(none)").encode()
    body = b"<html><body><article><p>Accept-Encoding: " + said + b"</p></article></body></html>"
    handler.send_response(200)
    handler.send_header("Content-Type", HTML)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _deflated(data: bytes, raw: bool) -> bytes:
    packer = zlib.compressobj(wbits=-15 if raw else 15)
    return packer.compress(data) + packer.flush()


COMPRESSED = {
    "/accept": _echo_accept_encoding,
    "/gzip.html": (200, {"Content-Type": HTML, "Content-Encoding": "gzip"}, gzip.compress(
        FERRY.body)),
    "/x-gzip.html": (200, {"Content-Type": HTML, "Content-Encoding": "x-gzip"}, gzip.compress(
        FERRY.body)),
    "/deflate.html": (200, {"Content-Type": HTML, "Content-Encoding": "deflate"}, _deflated(
        FERRY.body, raw=False)),
    "/raw-deflate.html": (200, {"Content-Type": HTML, "Content-Encoding": "deflate"}, _deflated(
        FERRY.body, raw=True)),
    "/bare-gzip.html": (200, {"Content-Type": HTML}, gzip.compress(FERRY.body)),
    "/bomb.html": (200, {"Content-Type": HTML, "Content-Encoding": "gzip"}, BOMB),
    "/bare-bomb.html": (200, {"Content-Type": HTML}, BOMB),
    "/twice.html": (200, {"Content-Type": HTML}, gzip.compress(gzip.compress(FERRY.body))),
    "/broken.html": (200, {"Content-Type": HTML, "Content-Encoding": "gzip"}, BOMB[:5000]),
    "/brotli.html": (200, {"Content-Type": HTML, "Content-Encoding": "br"}, b"\x8b\x02\x80"),
    "/zstd.html": (200, {"Content-Type": HTML, "Content-Encoding": "zstd"}, b"(\xb5/\xfd"),
    "/compress.html": (200, {"Content-Type": HTML, "Content-Encoding": "compress"}, b"\x1f\x9d"),
}  # fmt: skip


@pytest.fixture(scope="module")
def compressed_site():
    with serve(COMPRESSED) as site:
        yield site


def _get(site, path: str):
    return fetch(site.url(path), private_networks=LOOPBACK_NETWORKS)


def test_identity_encoding_is_asked_for(compressed_site):
    assert b"Accept-Encoding: identity" in _get(compressed_site, "/accept").body


@pytest.mark.parametrize(
    "path", ["/gzip.html", "/x-gzip.html", "/deflate.html", "/raw-deflate.html", "/bare-gzip.html"]
)
def test_a_page_sent_compressed_anyway_is_stored_decoded(compressed_site, path):
    assert _get(compressed_site, path).body == FERRY.body


@pytest.mark.parametrize("path", ["/bomb.html", "/bare-bomb.html"])
def test_a_body_that_inflates_past_the_limit_is_refused(compressed_site, path):
    with pytest.raises(FetchError, match="larger than 5 MB once decompressed"):
        _get(compressed_site, path)


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/brotli.html", "compressed as “br”, which is not read"),
        ("/zstd.html", "compressed as “zstd”, which is not read"),
        ("/compress.html", "compressed as “compress”, which is not read"),
        ("/broken.html", "sent as gzip but is not valid gzip"),
        ("/twice.html", "compressed more than once"),
    ],
)
def test_an_encoding_not_read_or_damaged_is_refused_politely(compressed_site, path, said):
    with pytest.raises(FetchError, match=said):
        _get(compressed_site, path)


def test_adding_a_compressed_bomb_exits_2_and_stores_nothing(compressed_site, tmp_path):
    added = run_cli(tmp_path, "add", compressed_site.url("/bomb.html"), allow_private=True)
    assert added.returncode == 2, added.stderr
    assert "larger than 5 MB once decompressed" in added.stderr
    assert "Unexpected" not in added.stderr
    texts = tmp_path / "data" / "texts"
    assert not texts.exists() or not any(texts.iterdir())


def test_gunzip_limited_stops_at_the_limit():
    assert gunzip_limited(gzip.compress(b"x" * 1000), 1000) == b"x" * 1000
    with pytest.raises(DecodedTooLarge):
        gunzip_limited(gzip.compress(b"x" * 1001), 1000)
    with pytest.raises(DecodedTooLarge):
        gunzip_limited(BOMB, MAX_BYTES)
    # Two members, as `cat a.gz b.gz` makes, are one stream.
    assert gunzip_limited(gzip.compress(b"ab") + gzip.compress(b"cd"), 10) == b"abcd"
    with pytest.raises(zlib.error):
        gunzip_limited(BOMB[:100], MAX_BYTES)


# ---------------------------------------------------------------- charset=punycode

PARAGRAPHS = [
    "The harbour board voted on Tuesday to keep the winter ferry running every day.",
    "Fares stay at four pounds, and the first sailing leaves at seven in the morning.",
    "The board said the timetable would be reviewed again in the spring.",
]
# Punycode reads the text after a page's last hyphen as code points to insert, each insertion
# moving the rest: a long run of letters there (inside an unclosed script, out of the article)
# costs quadratic time, and the rest of the page comes out garbled.
PUNYCODE_PAGE = (
    '<!doctype html><html><head><meta charset="punycode"><title>Ferry stays</title></head>'
    "<body><article><h1>Ferry stays</h1>"
    + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) * 600
    + "</article><script>var x = 1-"
    + "ab" * 50_000
).encode("ascii")


def test_a_page_labelled_punycode_is_read_as_utf8_not_punycode(tmp_path):
    assert 200_000 < len(PUNYCODE_PAGE) < 500_000
    routes = {"/ferry": (200, {"Content-Type": "text/html; charset=punycode"}, PUNYCODE_PAGE)}
    with serve(routes) as site:
        fetched = fetch(site.url("/ferry"), private_networks=LOOPBACK_NETWORKS)
        assert fetched.body == PUNYCODE_PAGE  # not "decoded" as punycode
        added = run_cli(tmp_path, "add", site.url("/ferry"), allow_private=True)
    assert added.returncode == 0, added.stderr
    asked = run_cli(tmp_path, "ask", "When does the first sailing leave?")
    assert "first sailing leaves at seven in the morning" in asked.stdout


def test_a_meta_charset_that_is_no_web_encoding_is_not_used(tmp_path):
    # Not UTF-8, so the <meta> is read: its label is none of the standard's, so the page is
    # decoded as if it had none.
    page = (
        '<html><head><meta charset="rot13"></head><body><article>'
        + "".join(f"<p>{p} The café’s crème brûlée.</p>" for p in PARAGRAPHS)
        + "</article></body></html>"
    ).encode("cp1252")
    text = extract(Path("page.html"), page).text
    assert "The board said the timetable would be reviewed again in the spring." in text
    assert "Gur obneq" not in text  # what rot13 makes of it


def test_a_feed_declaring_punycode_reaches_the_parser_as_utf8():
    feed = (
        b'<?xml version="1.0" encoding="punycode"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>Ferry</title><link>http://example.org/a</link></item></channel></rss>"
    )
    routes = {"/feed": (200, {"Content-Type": "application/rss+xml"}, feed)}
    with serve(routes) as site:
        fetched = fetch(site.url("/feed"), private_networks=LOOPBACK_NETWORKS, accept=FEED_TYPES)
    assert fetched.body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')


@pytest.mark.parametrize(
    "label",
    ["punycode", "idna", "rot13", "rot-13", "utf-7", "utf7", "base64", "zlib", "uu", "hex",
     "bz2", "quopri", "unicode_escape", "raw_unicode_escape", "utf-32", "cp037", "mbcs",
     "palmos", "undefined", "", "utf_8"],
)  # fmt: skip
def test_labels_no_browser_reads_are_not_encodings(label):
    assert lookup(label) is None
    assert decode_declared(b"abc-def", label) is None


@pytest.mark.parametrize(
    ("label", "name", "raw", "text"),
    [
        ("UTF-8", "UTF-8", "é".encode(), "é"),
        (" utf8 ", "UTF-8", "é".encode(), "é"),
        ('"unicode-1-1-utf-8"', "UTF-8", "é".encode(), "é"),
        ("ISO-8859-1", "windows-1252", b"\x93q\x94 \x81", "“q” \x81"),
        ("latin1", "windows-1252", b"\xe9", "é"),
        ("US-ASCII", "windows-1252", b"\x80", "€"),
        ("iso-8859-9", "windows-1254", b"\xfd", "ı"),
        ("tis-620", "windows-874", b"\xa1", "ก"),
        ("koi8-r", "KOI8-R", b"\xc1", "а"),
        ("shift_jis", "Shift_JIS", "日本".encode("cp932"), "日本"),
        ("gb2312", "GBK", "中文".encode("gbk"), "中文"),
        ("big5", "Big5", "中文".encode("big5"), "中文"),
        ("euc-kr", "EUC-KR", "한국".encode("cp949"), "한국"),
        ("utf-16", "UTF-16LE", "ab".encode("utf-16-le"), "ab"),
        ("iso-2022-kr", "replacement", b"abc", "abc"),
        ("x-user-defined", "x-user-defined", b"a\x80", "a\uf780"),
    ],
)
def test_the_standard_labels_name_their_encodings(label, name, raw, text):
    encoding = lookup(label)
    assert encoding is not None and encoding.name == name
    assert decode_declared(raw, label) == text


# ---------------------------------------------------------------- IPv6 literals


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no ::1")


def _host_header(handler) -> None:
    body = f"<html><body><article><p>Host: {handler.headers['Host']}</p></article></body></html>"
    handler.send_response(200)
    handler.send_header("Content-Type", HTML)
    handler.end_headers()
    handler.wfile.write(body.encode())


@needs_ipv6
def test_an_ipv6_literal_with_a_port_is_fetched_from_that_port():
    with serve({"/x": _host_header}, host="::1") as site:
        fetched = fetch(site.url("/x"), private_networks=LOOPBACK_NETWORKS)
    assert f"Host: [::1]:{site.port}".encode() in fetched.body


@needs_ipv6
def test_an_ipv6_literal_without_a_port_goes_to_port_80(monkeypatch):
    """`http://[::1]/x` once connected to port 1. Connections are recorded, and the one to
    port 80 is sent on to the local server (which cannot listen on 80)."""
    with serve({"/x": _host_header}, host="::1") as site:
        connections = []
        real_connect = socket.create_connection

        def connect(address, *args, **kwargs):
            connections.append(address[:2])
            if address[:2] == ("::1", 80):
                return real_connect(("::1", site.port), *args, **kwargs)
            raise ConnectionRefusedError(111, "refused by the test: not port 80")

        monkeypatch.setattr(socket, "create_connection", connect)
        fetched = fetch("http://[::1]/x", private_networks=LOOPBACK_NETWORKS)
    assert connections == [("::1", 80)]
    assert b"Host: [::1]</p>" in fetched.body  # the default port is not written


# ---------------------------------------------------------------- private addresses


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.7", False),
        ("169.254.169.254", False),
        ("192.0.0.8", False),  # IETF protocol assignments
        ("192.0.0.170", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:93.184.215.14", True),
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::169.254.169.254", False),
        ("::93.184.215.14", True),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::5db8:d70e", True),  # NAT64 of a public address
        ("64:ff9b:1::a9fe:a9fe", False),  # local-use NAT64
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
        ("2002:5db8:d70e::1", True),  # 6to4 of a public address
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("::ffff:0:7f00:1", False),  # IPv4-translated 127.0.0.1
        ("::ffff:0:a9fe:a9fe", False),  # IPv4-translated 169.254.169.254
        ("fec0::1", False),  # site-local
    ],
)
def test_an_address_is_public_only_with_any_ipv4_inside_it(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


def test_an_allowed_range_lets_its_addresses_and_their_ipv6_forms_through():
    networks = parse_networks("127.0.0.0/8, 10.1.2.0/24")
    for allowed in ("127.0.0.1", "10.1.2.3", "::ffff:127.0.0.1", "64:ff9b::7f00:1"):
        assert is_allowed(ipaddress.ip_address(allowed), networks)
    for refused in ("10.1.3.1", "169.254.169.254", "::1", "192.168.1.1"):
        assert not is_allowed(ipaddress.ip_address(refused), networks)
    assert embedded_ipv4(ipaddress.ip_address("::1")) is None
    with pytest.raises(ValueError, match="address range"):
        parse_networks("127.0.0.0/8,localhost")


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:127.0.0.1]/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://[64:ff9b::7f00:1]:8080/",
        "http://[64:ff9b:1::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        "http://192.0.0.8/",
        "http://[::ffff:0:a9fe:a9fe]/latest/meta-data/",
        "http://[fec0::1]/",
    ],
)
def test_a_private_address_in_an_ipv6_form_is_refused_without_connecting(url, monkeypatch):
    connections = []

    def connect(address, *args, **kwargs):
        connections.append(address)
        raise ConnectionRefusedError(111, "refused by the test: nothing is connected to")

    monkeypatch.setattr(socket, "create_connection", connect)
    with pytest.raises(FetchError, match="points to a private or local address"):
        fetch(url)
    assert connections == []


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://127.0.0.1:99999/story", "port must be a number from 1 to 65535"),
        ("http://127.0.0.1:0x50/story", "port must be a number from 1 to 65535"),
        ("http://127.0.0.1:0/story", "port 0 is no port"),
        ("http://[::1/story", "a bracket around an IPv6 address is not closed"),
        ("http://[::1", "a bracket around an IPv6 address is not closed"),
        ("http://[not-an-address]/", "a bracket around an IPv6 address is not closed"),
    ],
)
def test_a_malformed_link_is_a_bad_url(url, said):
    with pytest.raises(BadURL, match=said):
        fetch(url)


def test_malformed_links_get_a_usage_error_from_the_command_line(tmp_path):
    added = run_cli(
        tmp_path, "add", "http://127.0.0.1:99999/a", "http://127.0.0.1:0x50/b", "http://[::1"
    )
    assert added.returncode == 2
    assert added.stderr.count("is not a valid link") == 3, added.stderr
    assert "Unexpected" not in added.stderr and "report" not in added.stderr


def test_a_nat64_metadata_address_is_refused_from_the_command_line(tmp_path):
    added = run_cli(tmp_path, "add", "http://[64:ff9b::a9fe:a9fe]/")
    assert added.returncode == 2
    assert "points to a private or local address" in added.stderr
    assert "Unexpected" not in added.stderr


def test_the_old_switch_is_refused_with_what_replaced_it(tmp_path):
    listed = run_cli(tmp_path, "list", settings={"FETCH_ALLOW_PRIVATE": "true"})
    assert listed.returncode == 2
    assert "FETCH_ALLOW_PRIVATE was replaced by FETCH_PRIVATE_NETWORKS" in listed.stderr
    assert "HOST_GUILD_ID" in listed.stderr  # and whom it applies to


def test_the_private_ranges_reach_the_command_line_and_the_host_collections_only(tmp_path):
    """With FETCH_PRIVATE_NETWORKS listing loopback, the command line adds a local page and
    follows a local feed into the host's collections, but a Discord server's collection (as
    the bot keeps it, and as `feed poll` from cron reads it) gets no private address."""
    routes = {"/ferry": (200, {"Content-Type": HTML}, FERRY.body)}
    with serve(routes) as site:
        site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, _feed_of(site))
        env = {"FETCH_PRIVATE_NETWORKS": LOOPBACK}
        added = run_cli(tmp_path, "add", site.url("/ferry"), settings=env)
        assert added.returncode == 0, added.stderr
        news = run_cli(tmp_path, "feed", "add", site.url("/feed"), "--collection", "news",
                       settings=env)  # fmt: skip
        assert news.returncode == 0, news.stderr
        elsewhere = run_cli(
            tmp_path, "feed", "add", site.url("/feed"), "--collection", "server-4242",
            settings=env,
        )  # fmt: skip
    assert elsewhere.returncode == 2
    assert "points to a private or local address" in elsewhere.stderr


def _feed_of(site) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>Ferry</title><link>{site.url('/ferry')}</link></item></channel></rss>"
    ).encode()


def test_only_the_hosts_own_server_may_reach_the_private_ranges(tmp_path):
    """FETCH_PRIVATE_NETWORKS lists loopback and the host's server is OTHER_GUILD_ID: an admin
    of any other server (GUILD_ID) cannot add a 127.0.0.1 page or follow a 127.0.0.1 feed, so
    cannot have a member quote a local service's secret; the host's own server can."""
    routes = {"/secret": (200, {"Content-Type": HTML}, FERRY.body)}
    settings = {
        "FETCH_PRIVATE_NETWORKS": LOOPBACK,
        "HOST_GUILD_ID": str(OTHER_GUILD_ID),
        "COOLDOWN_RATE": "100",
    }
    host_server = {"guild_id": OTHER_GUILD_ID, "channel_id": OTHER_GUILD_CHANNEL_ID}

    async def scenario(site) -> None:
        secret, feed = site.url("/secret"), site.url("/feed")
        async with running_bot(tmp_path, **settings) as env:
            for command in (slash("article", "add", url=secret), slash("feed", "add", url=feed)):
                refused = await final_reply(env.fake, command, permissions=ADMIN)
                assert "points to a private or local address" in refused["content"]
            added = await final_reply(
                env.fake, slash("article", "add", url=secret), permissions=ADMIN, **host_server
            )
            assert added["content"].startswith("Added **"), added["content"]

    with serve(routes) as site:
        site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, _feed_of(site))
        asyncio.run(asyncio.wait_for(scenario(site), 60))


FERRY_PAGE = (
    "<html><head><title>Ferry stays</title></head><body><article><h1>Ferry stays</h1>"
    + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    + "</article></body></html>"
).encode()


def test_hosts_and_paths_beyond_ascii_are_sent_in_their_ascii_forms(tmp_path):
    # A full-width host name and a path with an accent exited 1 with a UnicodeEncodeError.
    routes = {
        "/ferry": (200, {"Content-Type": HTML}, FERRY_PAGE),
        "/caf%C3%A9": (200, {"Content-Type": HTML}, FERRY_PAGE.replace(b"Ferry stays", b"Cafe")),
    }
    with serve(routes) as site:
        port = site.port
        wide_host = "ｌｏｃａｌｈｏｓｔ"  # full-width letters
        wide = run_cli(tmp_path, "add", f"http://{wide_host}:{port}/ferry", allow_private=True)
        accented = run_cli(tmp_path, "add", f"http://127.0.0.1:{port}/café", allow_private=True)
        dotted = run_cli(tmp_path, "add", f"http://127。0。0。1:{port}/ferry")
    assert wide.returncode == 0, wide.stderr
    assert accented.returncode == 0 and "Cafe" in accented.stdout, accented.stderr
    # Ideographic full stops fold to an address, which is then checked like any other.
    assert dotted.returncode == 2 and "private or local address" in dotted.stderr
    assert "Traceback" not in wide.stderr + accented.stderr + dotted.stderr
