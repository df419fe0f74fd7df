"""The limits on what an article may cost to read, in one place, and the decoder that keeps
compressed input inside them.

A link's body and an uploaded file are both read up to `MAX_BYTES`; a compressed one (a
`Content-Encoding: gzip` answer, or a page that is itself gzip) is inflated only up to
`MAX_BYTES` of *decoded* bytes, so 0.5 MB of gzip cannot become 20 MB of page.
"""

from __future__ import annotations

import collections
import itertools
import zlib
from collections.abc import Iterable

__all__ = [
    "FETCH_SECONDS",
    "GZIP_MAGIC",
    "MAX_BYTES",
    "STEP_SECONDS",
    "DecodedTooLarge",
    "LimitedInflater",
    "gunzip_limited",
    "is_gzip",
    "megabytes",
    "more_than",
]

# The most bytes of a page or file, as stored and as decoded.
MAX_BYTES = 5 * 1024 * 1024
# A whole fetch (name lookup, connect, TLS, status, headers, body and every redirect) ends
# within this many seconds, however slowly the server sends.
FETCH_SECONDS = 30.0
# Each step of a fetch (connecting, and every read) ends within this many seconds.
STEP_SECONDS = 10.0
GZIP_MAGIC = b"\x1f\x8b"
# zlib's window bits: 16 + 15 reads a gzip stream, 15 a zlib one, -15 raw deflate.
_GZIP, _ZLIB, _RAW = 31, 15, -15
_PIECE = 64 * 1024  # inflate at most this much per step, so no step is large


class DecodedTooLarge(ValueError):
    """The input inflates to more than the limit (nothing beyond it was decoded)."""


def is_gzip(data: bytes) -> bool:
    return data.startswith(GZIP_MAGIC)


class LimitedInflater:
    """Inflates a gzip, zlib or raw deflate stream fed to it in pieces, refusing (with
    DecodedTooLarge) as soon as the output would pass `limit` bytes. A gzip stream of several
    members (as `cat a.gz b.gz` makes) is read whole, as gzip readers do."""

    def __init__(self, kind: str, limit: int = MAX_BYTES) -> None:
        if kind not in ("gzip", "deflate"):
            raise ValueError(f"unknown compression {kind!r}")
        self.kind = kind
        self.limit = limit
        self.size = 0
        self._started = False
        self._inflater = zlib.decompressobj(_GZIP)

    def feed(self, data: bytes) -> bytes:
        """The decoded bytes `data` completes (zlib.error when it is not that compression)."""
        if not self._started and data:
            self._started = True
            if self.kind == "deflate":
                # "deflate" is zlib-wrapped by the standard and raw by some servers.
                self._inflater = zlib.decompressobj(_ZLIB if _looks_zlib(data) else _RAW)
        out = []
        while data:
            out.append(self._inflate(data))
            if not self._inflater.eof:
                data = self._inflater.unconsumed_tail
                continue
            rest = self._inflater.unused_data
            if self.kind != "gzip" or not rest.lstrip(b"\0"):
                break  # the end of the stream (gzip allows zero padding after it)
            self._inflater = zlib.decompressobj(_GZIP)  # the next member
            data = rest
        return b"".join(out)

    def finish(self) -> bytes:
        """The rest; zlib.error when the stream was cut short."""
        if not self._started:
            return b""
        tail = self._inflater.flush()  # output zlib held back (never more than a match)
        self._count(tail)
        if not self._inflater.eof:
            raise zlib.error("the compressed data ends too soon")
        return tail

    def _inflate(self, data: bytes) -> bytes:
        chunk = self._inflater.decompress(data, min(_PIECE, self.limit + 1 - self.size))
        self._count(chunk)
        return chunk

    def _count(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise DecodedTooLarge(f"it decompresses to more than {megabytes(self.limit)}")


def gunzip_limited(data: bytes, limit: int = MAX_BYTES) -> bytes:
    """`data` (gzip) decompressed, if that is at most `limit` bytes. Raises DecodedTooLarge
    when it is more, and zlib.error when `data` is not whole, valid gzip."""
    inflater = LimitedInflater("gzip", limit)
    return inflater.feed(data) + inflater.finish()


def _looks_zlib(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def megabytes(size: int) -> str:
    """A limit in bytes as people read it ("5 MB")."""
    return f"{size / 2**20:g} MB"


def more_than(items: Iterable[object], count: int) -> bool:
    """Whether there are more than `count` items, taking no more than one past it: what an
    input holds is counted without ever holding more of it than the limit allows."""
    # Counted in C: zip stops with the items, and the deque keeps none of them.
    counter = itertools.count()
    collections.deque(zip(itertools.islice(items, count + 1), counter, strict=False), maxlen=0)
    return next(counter) > count
