"""Fetching an article from a URL, as a careful browser would, and no further.

Every URL is untrusted. Only http and https; the host is resolved once and every address it
resolves to must be public (no loopback, private, link-local, multicast or reserved address),
and the connection goes to the address that was checked, so a DNS answer that changes in
between cannot point it inside the network (no server-side request forgery). Each redirect (at
most `MAX_REDIRECTS`) is checked the same way. The body is read up to `MAX_BYTES` and no
further, within `TIMEOUT_SECONDS` per step and `BODY_TIMEOUTS` of them for the whole body (a
server sending a byte at a time cannot hold a fetch open); only web pages, plain text, Markdown
and PDFs are accepted; nothing from the page is run. A text body whose charset only the
Content-Type header may name (and not UTF-8) is returned re-encoded as UTF-8, since the header
is not stored with it. `allow_private` (FETCH_ALLOW_PRIVATE) lifts the address rule, for tests
and for self-hosters who index their own servers.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import re
import socket
import ssl
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import CorpusError
from .formats import decode_declared

__all__ = ["FetchError", "Fetched", "NotModified", "fetch"]

MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT_SECONDS = 10.0
BODY_TIMEOUTS = 3  # the whole body within this many timeouts (30 s by default)
USER_AGENT = "quotebot/0.1 (an article-quoting bot; fetches one page when asked to)"
# Content types read, and the file suffix each is stored under.
ACCEPTED = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
}


class FetchError(CorpusError):
    """The URL cannot be fetched; the message says why, for the person who gave it."""


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


def fetch(
    url: str,
    *,
    allow_private: bool = False,
    timeout: float = TIMEOUT_SECONDS,
    accept: Mapping[str, str] | None = None,
    etag: str | None = None,
    modified: str | None = None,
) -> Fetched:
    """`accept` (content type → suffix) replaces ACCEPTED, as feeds (corpus/ingest/feeds.py)
    do; `etag` and `modified` (a previous Fetched's `etag` and `last_modified`) are sent as
    If-None-Match and If-Modified-Since, and an answer of 304 raises NotModified."""
    accepted = ACCEPTED if accept is None else accept
    conditional = {
        name: value
        for name, value in (("If-None-Match", etag), ("If-Modified-Since", modified))
        if value
    }
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        parts = _checked_url(current)
        address = _checked_address(parts, allow_private)
        status, headers, body = _get(parts, address, timeout, accepted, conditional)
        if status in (301, 302, 303, 307, 308):
            location = headers.get("location")
            if not location:
                raise FetchError(f"{_short(current)} redirects nowhere (no Location).")
            current = urllib.parse.urljoin(current, location)
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
        body = _as_utf8(body, kind, headers.get("content-type", ""))
        return Fetched(
            current,
            body,
            accepted[kind],
            datetime.datetime.now(datetime.UTC),
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
        )
    raise FetchError(f"{_short(url)} redirects more than {MAX_REDIRECTS} times.")


def _checked_url(url: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"Only http and https links can be added, not {parts.scheme or url!r}.")
    if not parts.hostname:
        raise FetchError(f"{_short(url)} has no host name.")
    if parts.username or parts.password:
        raise FetchError("Links with a user name or password in them are not fetched.")
    return parts


def _checked_address(parts: urllib.parse.SplitResult, allow_private: bool) -> str:
    """The address to connect to: one the host resolves to, every one of them public."""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(
            f"The host {parts.hostname} could not be found ({exc.strerror})."
        ) from None
    addresses = [info[4][0] for info in found]
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise FetchError(
                    f"{parts.hostname} points to a private or local address; such links are not "
                    "fetched (FETCH_ALLOW_PRIVATE=true allows them)."
                )
    return addresses[0]


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address already checked, with the certificate checked for the host name."""

    def __init__(self, host: str, address: str, **options) -> None:
        super().__init__(host, context=ssl.create_default_context(), **options)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, **options) -> None:
        super().__init__(host, **options)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def _get(
    parts: urllib.parse.SplitResult,
    address: str,
    timeout: float,
    accept: Mapping[str, str] = ACCEPTED,
    extra_headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = kind(parts.hostname, address, port=parts.port, timeout=timeout)
    path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    try:
        connection.request(
            "GET",
            path,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": ", ".join(accept),
                "Host": parts.netloc,
                **(extra_headers or {}),
            },
        )
        response = connection.getresponse()
        headers = {k.casefold(): v for k, v in response.getheaders()}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BYTES:
            raise FetchError(f"{_short(parts.geturl())} is larger than {MAX_BYTES // 2**20} MB.")
        body = _body(response, parts, timeout) if response.status == 200 else b""
        return response.status, headers, body
    except TimeoutError:
        raise FetchError(
            f"{_short(parts.geturl())} did not answer within {timeout:g} seconds."
        ) from None
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise FetchError(f"{_short(parts.geturl())} could not be fetched ({reason}).") from None
    finally:
        connection.close()


def _body(
    response: http.client.HTTPResponse, parts: urllib.parse.SplitResult, timeout: float
) -> bytes:
    """The body, up to MAX_BYTES, read within BODY_TIMEOUTS timeouts in all."""
    deadline = time.monotonic() + BODY_TIMEOUTS * timeout
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(min(64 * 1024, MAX_BYTES + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BYTES:
            raise FetchError(f"{_short(parts.geturl())} is larger than {MAX_BYTES // 2**20} MB.")
        if time.monotonic() > deadline:
            raise FetchError(
                f"{_short(parts.geturl())} sent its page too slowly (not all of it within "
                f"{BODY_TIMEOUTS * timeout:g} seconds)."
            )
    return b"".join(chunks)


# Text types whose bytes are re-encoded as UTF-8 when the header names another charset.
_TEXT_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain", "text/markdown"})
_CHARSET = re.compile(r""";\s*charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_BYTE_ORDER_MARKS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_XML_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([^"']*)""")


def _as_utf8(body: bytes, kind: str, content_type: str) -> bytes:
    """A text body in the charset its Content-Type names, as UTF-8 (an XML declaration's
    encoding says so too); any other body, or one not in that charset, as it came."""
    declared = _CHARSET.search(content_type)
    if kind not in _TEXT_TYPES or not declared or body.startswith(_BYTE_ORDER_MARKS):
        return body  # a byte-order mark says more than the header (and formats.py reads it)
    label = declared.group(1).casefold()
    if label in ("utf-8", "utf8"):
        return body
    text = decode_declared(body, label)
    if text is None:
        return body
    return _XML_ENCODING.sub(r"\1utf-8", text, count=1).encode()


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "…"


def _is_feed(kind: str) -> bool:
    return kind in ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml")
