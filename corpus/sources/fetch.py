"""Fetching an article from a URL, as a careful browser would, and no further.

Every URL is untrusted. Only http and https; a malformed link (a port out of range, an
unclosed bracket) is a `BadURL`. The host is resolved once and every address it resolves to
must be public (corpus/sources/addresses.py: no loopback, private, link-local, multicast or
reserved address, nor one that carries such an IPv4 address), unless it is in a range the
caller passes as `private_networks` (the host's FETCH_PRIVATE_NETWORKS, for the host's own
collections only); the connection goes to the address that was checked, so a DNS answer that
changes in between cannot point it inside the network (no server-side request forgery). Each
redirect (at most `MAX_REDIRECTS`) is checked the same way.

One wall-clock deadline (`FETCH_SECONDS`) bounds the whole fetch: the name lookup, connecting,
TLS, the status line, the headers, the body (chunk size lines too) and every redirect. Each
read and send is given the time that is left (and at most `STEP_SECONDS`), so a server that
sends a byte at a time, anywhere in its answer, cannot hold a fetch open.

The body is read up to `MAX_BYTES`. Identity encoding is asked for; a body sent gzip or
deflate anyway, or a page that is itself gzip, is inflated only up to `MAX_BYTES` of decoded
bytes, and any other encoding is refused. Only web pages, plain text, Markdown and PDFs are
accepted; nothing from the page is run. A text or XML body whose charset the Content-Type
header (or an XML declaration) names is returned re-encoded as UTF-8, since the header is not
stored with it; only the WHATWG encoding labels are read (corpus/ingest/encodings.py).
"""

from __future__ import annotations

import datetime
import http.client
import io
import ipaddress
import re
import socket
import ssl
import threading
import time
import urllib.parse
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import CorpusError
from ..ingest import encodings
from ..ingest.limits import (
    FETCH_SECONDS,
    MAX_BYTES,
    STEP_SECONDS,
    DecodedTooLarge,
    LimitedInflater,
    gunzip_limited,
    is_gzip,
    megabytes,
)
from .addresses import Network, is_allowed

__all__ = ["MAX_BYTES", "BadURL", "FetchError", "Fetched", "NotModified", "fetch"]

MAX_REDIRECTS = 5
USER_AGENT = "quotebot/0.1 (an article-quoting bot; fetches one page when asked to)"
# Content types read, and the file suffix each is stored under.
ACCEPTED = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
}
# Content-Encodings read (anything else is refused), and how each is inflated.
_CONTENT_ENCODINGS = {"": None, "identity": None, "gzip": "gzip", "x-gzip": "gzip",
                      "deflate": "deflate"}  # fmt: skip


class FetchError(CorpusError):
    """The URL cannot be fetched; the message says why, for the person who gave it."""


class BadURL(FetchError):
    """The link itself is malformed: no request was made."""


class NotModified(FetchError):
    """A conditional fetch (`etag=` or `modified=`) was answered 304: nothing new."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    body: bytes
    suffix: str  # how it is stored: .html, .txt, .md or .pdf
    fetched_at: datetime.datetime
    etag: str | None = None  # the validators to send next time, for a conditional fetch
    last_modified: str | None = None


@dataclass(frozen=True)
class _Target:
    """Where a checked URL points: the host (an IPv6 literal without its brackets), the port
    (always explicit, so http.client never reads one out of an IPv6 address) and the Host
    header."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    host_header: str


class _DeadlinePassed(TimeoutError):
    """The fetch's deadline came while a step was still waiting."""


class _Clock:
    """The fetch's one deadline, and each step's share of what is left of it."""

    def __init__(self, seconds: float, step: float) -> None:
        self.seconds = seconds
        self.step_seconds = step
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        return self.ends - time.monotonic()

    def step(self) -> float:
        """The timeout for the next step; _DeadlinePassed when no time is left."""
        left = self.left()
        if left <= 0:
            raise _DeadlinePassed
        return min(self.step_seconds, left)


def fetch(
    url: str,
    *,
    private_networks: Iterable[Network] = (),
    timeout: float = STEP_SECONDS,
    deadline: float = FETCH_SECONDS,
    accept: Mapping[str, str] | None = None,
    etag: str | None = None,
    modified: str | None = None,
) -> Fetched:
    """`private_networks`: the private address ranges this fetch may reach besides public
    addresses. `timeout` bounds each step, `deadline` the whole fetch. `accept` (content
    type → suffix) replaces ACCEPTED, as feeds (corpus/sources/feeds.py) do; `etag` and
    `modified` (a previous Fetched's `etag` and `last_modified`) are sent as If-None-Match
    and If-Modified-Since, and an answer of 304 raises NotModified."""
    accepted = ACCEPTED if accept is None else accept
    networks = tuple(private_networks)
    clock = _Clock(deadline, timeout)
    conditional = {
        name: value
        for name, value in (("If-None-Match", etag), ("If-Modified-Since", modified))
        if value
    }
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        target = _checked_url(current)
        address = _checked_address(target, networks, clock)
        status, headers, body = _get(target, address, clock, accepted, conditional)
        if status in (301, 302, 303, 307, 308):
            location = headers.get("location")
            if not location:
                raise FetchError(f"{_short(current)} redirects nowhere (no Location).")
            try:
                current = urllib.parse.urljoin(current, location)
            except ValueError:  # a Location such as "http://[::1"
                raise FetchError(f"{_short(current)} redirects to a malformed link.") from None
            continue
        if status == 304 and conditional:
            raise NotModified(f"{_short(current)} has not changed since it was last fetched.")
        if status != 200:
            raise FetchError(f"{_short(current)} answered HTTP {status}, not the page.")
        kind = headers.get("content-type", "").split(";")[0].strip().casefold()
        if kind not in accepted:
            wanted = (
                "a web page, text, Markdown or PDF"
                if accept is None
                else "one of " + ", ".join(accepted)
            )
            feed = " If it is a news feed, follow it as a feed instead." if _is_feed(kind) else ""
            raise FetchError(
                f"{_short(current)} is {kind or 'of no stated type'}, not {wanted}.{feed}"
            )
        body = _as_utf8(_unwrapped(body, kind, current), kind, headers.get("content-type", ""))
        return Fetched(
            current,
            body,
            accepted[kind],
            datetime.datetime.now(datetime.UTC),
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
        )
    raise FetchError(f"{_short(url)} redirects more than {MAX_REDIRECTS} times.")


def _checked_url(url: str) -> _Target:
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", "0x50"
        raise BadURL(f"{_short(url)} is not a valid link ({_reason_of(exc)}).") from None
    if parts.scheme not in ("http", "https"):
        raise BadURL(f"Only http and https links can be added, not {parts.scheme or url!r}.")
    host = parts.hostname
    if not host:
        raise BadURL(f"{_short(url)} has no host name.")
    if parts.username or parts.password:
        raise BadURL("Links with a user name or password in them are not fetched.")
    if port == 0:
        raise BadURL(f"{_short(url)} is not a valid link (port 0 is no port).")
    literal = _ip_literal(host)
    if literal is None:
        try:
            # The form the name is looked up, sent (Host, TLS) and checked in: an
            # internationalised name as ASCII, full-width letters and dots folded.
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise BadURL(f"{_short(url)} is not a valid link (its host name).") from None
        literal = _ip_literal(host)  # "127。0。0。1" folds to an address
    if literal is not None and literal.version == 6 and "%" in host:
        raise BadURL(f"{_short(url)} names a network interface; such links are not fetched.")
    bracketed = f"[{host}]" if literal is not None and literal.version == 6 else host
    return _Target(
        url=url,
        scheme=parts.scheme,
        host=host,
        port=port or (443 if parts.scheme == "https" else 80),
        # Sent as ASCII: anything else in the path or query percent-encoded, as browsers do.
        path=urllib.parse.quote(
            urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, "")),
            safe="/?&=%:@!$'()*+,;~-._",
        ),
        host_header=bracketed if port is None else f"{bracketed}:{port}",
    )


def _reason_of(exc: ValueError) -> str:
    text = str(exc)
    if "IPv6" in text:
        return "a bracket around an IPv6 address is not closed, or what is inside is no address"
    if "Port" in text or "port" in text:
        return "its port must be a number from 1 to 65535"
    return text[:80]


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None


def _checked_address(target: _Target, networks: tuple[Network, ...], clock: _Clock) -> str:
    """The address to connect to: one the host resolves to, every one of them allowed."""
    addresses = _resolve(target, clock)
    for address in addresses:
        if not is_allowed(ipaddress.ip_address(address.split("%")[0]), networks):
            raise FetchError(
                f"{target.host} points to a private or local address; such links are not "
                "fetched (the host may allow a range of them with FETCH_PRIVATE_NETWORKS)."
            )
    return addresses[0]


def _resolve(target: _Target, clock: _Clock) -> list[str]:
    """The host's addresses, looked up within the time left. The system's resolver cannot be
    interrupted, so a lookup that outlives the deadline is left to finish on its own thread
    (the resolver's own timeouts end it) while the fetch gives up."""
    found: list[Any] = []
    failed: list[socket.gaierror | UnicodeError] = []

    def look_up() -> None:
        try:
            found.extend(socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM))
        except (socket.gaierror, UnicodeError) as exc:
            failed.append(exc)

    lookup = threading.Thread(target=look_up, name="fetch-lookup", daemon=True)
    lookup.start()
    lookup.join(max(clock.left(), 0))
    if lookup.is_alive():
        raise FetchError(_too_slow(target, clock))
    if failed or not found:
        reason = getattr(failed[0], "strerror", None) if failed else None
        raise FetchError(
            f"The host {target.host} could not be found ({reason or 'no address'})."
        ) from None
    return [info[4][0] for info in found]


class _DeadlineSocket:
    """A connected socket (plain or TLS) that gives every receive and send the time left of
    the fetch's deadline, so http.client's loops (a status line or header read a byte at a
    time, a chunk's size line) cannot outlive it."""

    def __init__(self, sock: socket.socket, clock: _Clock) -> None:
        self._sock = sock
        self._clock = clock
        # As a socket does: http.client closes the connection while its response is still
        # being read, so the socket closes only when the last reader is closed too.
        self._readers = 0
        self._closed = False

    def _timed(self, operation: Any, *args: Any) -> Any:
        self._sock.settimeout(self._clock.step())
        try:
            return operation(*args)
        except TimeoutError:
            if self._clock.left() <= 0:
                raise _DeadlinePassed from None
            raise

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        return self._timed(self._sock.recv_into, buffer, nbytes, flags)

    def recv(self, size: int, flags: int = 0) -> bytes:
        return self._timed(self._sock.recv, size, flags)

    def sendall(self, data: bytes, flags: int = 0) -> None:
        self._timed(self._sock.sendall, data, flags)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        # Reads go through this object's recv_into, never straight to the socket's.
        self._readers += 1
        return io.BufferedReader(socket.SocketIO(self, "rb"))  # type: ignore[arg-type]

    def _decref_socketios(self) -> None:
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self._sock.close()

    def close(self) -> None:
        self._closed = True
        if self._readers <= 0:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _connect(target: _Target, address: str, clock: _Clock) -> _DeadlineSocket:
    sock = socket.create_connection((address, target.port), clock.step())
    if target.scheme == "https":
        try:
            sock.settimeout(clock.step())  # the handshake, whole, within it
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=target.host)
        except BaseException:
            sock.close()
            raise
    return _DeadlineSocket(sock, clock)


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP or HTTPS to an address already checked (the certificate checked for the host
    name), every step within the fetch's deadline."""

    def __init__(self, target: _Target, address: str, clock: _Clock) -> None:
        super().__init__(target.host, target.port, timeout=clock.step_seconds)
        self._target, self._address, self._clock = target, address, clock

    def connect(self) -> None:
        self.sock = _connect(self._target, self._address, self._clock)


def _get(
    target: _Target,
    address: str,
    clock: _Clock,
    accept: Mapping[str, str] = ACCEPTED,
    extra_headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = _PinnedConnection(target, address, clock)
    try:
        connection.request(
            "GET",
            target.path,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": ", ".join(accept),
                "Accept-Encoding": "identity",
                "Host": target.host_header,
                **(extra_headers or {}),
            },
        )
        response = connection.getresponse()
        headers = {k.casefold(): v for k, v in response.getheaders()}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BYTES:
            raise FetchError(f"{_short(target.url)} is larger than {megabytes(MAX_BYTES)}.")
        if response.status != 200:
            return response.status, headers, b""
        compression = _compression(target, headers.get("content-encoding", ""))
        return response.status, headers, _body(response, target, compression)
    except TimeoutError as exc:  # a step's own limit, or the deadline (a TLS handshake's too)
        if isinstance(exc, _DeadlinePassed) or clock.left() <= 0:
            raise FetchError(_too_slow(target, clock)) from None
        raise FetchError(
            f"{_short(target.url)} did not answer within {clock.step_seconds:g} seconds."
        ) from None
    except (OSError, http.client.HTTPException, ssl.SSLError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise FetchError(f"{_short(target.url)} could not be fetched ({reason}).") from None
    finally:
        connection.close()


def _compression(target: _Target, content_encoding: str) -> str | None:
    """The compression the body is in (None: none), or a FetchError for one not read."""
    named = content_encoding.strip().casefold()
    if named in _CONTENT_ENCODINGS:
        return _CONTENT_ENCODINGS[named]
    raise FetchError(
        f"{_short(target.url)} was sent compressed as “{named[:40]}”, which is not read "
        "(only gzip and deflate are)."
    )


def _body(response: http.client.HTTPResponse, target: _Target, compression: str | None) -> bytes:
    """The body, up to MAX_BYTES as sent and (inflated) as decoded."""
    inflater = LimitedInflater(compression) if compression else None
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := response.read1(min(64 * 1024, MAX_BYTES + 1 - size)):
            size += len(chunk)
            if size > MAX_BYTES:
                raise FetchError(f"{_short(target.url)} is larger than {megabytes(MAX_BYTES)}.")
            chunks.append(inflater.feed(chunk) if inflater else chunk)
        if inflater:
            chunks.append(inflater.finish())
    except DecodedTooLarge:
        raise FetchError(
            f"{_short(target.url)} is larger than {megabytes(MAX_BYTES)} once decompressed."
        ) from None
    except zlib.error:
        raise FetchError(
            f"{_short(target.url)} was sent as {compression} but is not valid {compression}."
        ) from None
    return b"".join(chunks)


# Text types whose bytes are re-encoded as UTF-8 when the header (or, for XML, the XML
# declaration) names another charset.
_TEXT_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain", "text/markdown"})
_XML_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
     "text/xml", "application/xhtml+xml"}
)  # fmt: skip
_CHARSET = re.compile(r""";\s*charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_BYTE_ORDER_MARKS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_XML_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([^"']*)""")
_XML_ENCODING_BYTES = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)""")


def _unwrapped(body: bytes, kind: str, url: str) -> bytes:
    """A text body that is itself gzip (served without saying so), inflated within the
    decoded limit: stored as it came, it would be inflated later without one."""
    if kind not in _TEXT_TYPES | _XML_TYPES or not is_gzip(body):
        return body
    try:
        inflated = gunzip_limited(body, MAX_BYTES)
    except DecodedTooLarge:
        raise FetchError(
            f"{_short(url)} is larger than {megabytes(MAX_BYTES)} once decompressed."
        ) from None
    except (zlib.error, EOFError):
        raise FetchError(f"{_short(url)} is {kind} but holds damaged gzip data.") from None
    if is_gzip(inflated):
        raise FetchError(f"{_short(url)} is compressed more than once; it is not read.")
    return inflated


def _as_utf8(body: bytes, kind: str, content_type: str) -> bytes:
    """A text body in the charset its Content-Type names (for XML, else its XML declaration),
    as UTF-8, its XML declaration saying so; any other body, or one not in that charset, as it
    came. An XML declaration naming no WHATWG encoding is read as UTF-8 (the XML default), so
    no later reader (feedparser) is handed a label such as punycode."""
    if kind not in _TEXT_TYPES | _XML_TYPES or body.startswith(_BYTE_ORDER_MARKS):
        return body  # a byte-order mark says more than the header (and formats.py reads it)
    declared = _CHARSET.search(content_type)
    in_xml = _XML_ENCODING_BYTES.match(body[:1024]) if kind in _XML_TYPES else None
    if declared:
        label = declared.group(1)
    elif in_xml:
        label = in_xml.group(1).decode("ascii", errors="replace")
    else:
        return body
    encoding = encodings.lookup(label)
    if not in_xml and encoding in (None, encodings.UTF_8):
        return body  # UTF-8 already, or a label that names no encoding (as if none were given)
    try:
        text = encodings.decode(body, encoding or encodings.UTF_8, strict=True)
    except UnicodeDecodeError:
        if not in_xml:
            return body  # formats.py decodes it by its <meta>, or guesses
        text = encodings.decode(body, encoding or encodings.UTF_8)
    return _XML_ENCODING.sub(r"\1utf-8", text, count=1).encode()


def _too_slow(target: _Target, clock: _Clock) -> str:
    return (
        f"{_short(target.url)} was too slow: the whole answer did not come within "
        f"{clock.seconds:g} seconds."
    )


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "…"


def _is_feed(kind: str) -> bool:
    return kind in ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml")
