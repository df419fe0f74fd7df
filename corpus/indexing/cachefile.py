"""The index cache's file format: a JSON manifest and raw arrays. Nothing in it can run code.

A pickle would run whatever a cache file asks for, so anyone able to write the cache
directory could run code in the bot. Here the file is data only:

    MAGIC, u64 manifest length, 16-byte BLAKE2b digest of the manifest, the manifest (JSON),
    then each buffer (a numpy array's raw bytes), 64-byte aligned.

The manifest describes the object tree: plain JSON values, and tagged entries for arrays
(dtype from a short list, shape, offset, length, CRC-32 of the bytes), ranges, dates, tuples,
sets, shared objects, and instances of the few classes listed in `_CLASSES`, restored by
setting their attributes. Nothing else is ever imported or called, whatever the file says.

Reading maps the file and makes each array a read-only view of its bytes, so a million-passage
index opens without reading its arrays; `verify_buffers` compares every buffer with its CRC-32
(about 3 GB/s), which the store does at once for small caches and in the background for big
ones. A damaged manifest fails its digest and is never parsed.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import mmap
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from pydantic import BaseModel, TypeAdapter

from .spill import release_pages

__all__ = ["CacheFormatError", "MappedCache", "read_cache_file", "write_cache_file"]

MAGIC = b"QUOTEBOT-INDEX-2\n"
_ALIGN = 64
# Arrays are of these types only: never "object", which would mean pickles.
_DTYPES = frozenset(["|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f4", "<f8", "|b1"])
# Long string lists (a million terms) travel as one buffer of NUL-separated UTF-8.
_PACKED_STRINGS = 256


class CacheFormatError(ValueError):
    """The file is not a cache this version wrote, or it is damaged."""


def _classes() -> dict[str, type]:
    """The classes a cache may hold, by name: the index and its parts. Imported here, late,
    because they import this module's users."""
    from rank_bm25 import BM25Okapi

    from .. import models
    from . import bm25, index, retrieval, tables

    found: list[type] = [
        index.CorpusIndex,
        index.DocumentSpan,
        tables.DocumentTexts,
        tables.ParagraphTable,
        tables.SentenceTable,
        tables.PassageTable,
        tables.TokenTable,
        bm25.Bm25Postings,
        retrieval.RankBm25Retriever,
        retrieval.PostingsRetriever,
        BM25Okapi,
        models.IndexConfig,
        models.Document,
        models.DocumentMeta,
    ]
    return {f"{c.__module__}.{c.__qualname__}": c for c in found}


# ---------------------------------------------------------------- writing


def write_cache_file(handle: BinaryIO, root: Any, extra: dict[str, Any]) -> None:
    """Write `root` (and the plain JSON `extra`, readable without decoding the tree, to which
    `buffer_bytes` is added: what checking the file costs)."""
    encoder = _Encoder(set(_classes().values()))
    tree = encoder.encode(root)
    raws = encoder.buffers
    extra = {**extra, "buffer_bytes": sum(raw.nbytes for raw in raws)}
    # Offsets are relative to the end of the manifest, so they can be fixed before its
    # length is known.
    entries, position = [], 0
    for raw in raws:
        position = _aligned(position)
        crc = 0
        for piece in _pieces(raw):
            crc = zlib.crc32(piece, crc)
        entries.append({"offset": position, "length": raw.nbytes, "crc32": crc})
        position += raw.nbytes
    manifest = json.dumps(
        {"extra": extra, "buffers": entries, "tree": tree, "arrays": encoder.arrays},
        separators=(",", ":"),
        allow_nan=True,
    ).encode()
    handle.write(MAGIC)
    handle.write(len(manifest).to_bytes(8, "little"))
    handle.write(hashlib.blake2b(manifest, digest_size=16).digest())
    handle.write(manifest)
    base = _aligned(len(MAGIC) + 8 + 16 + len(manifest))
    handle.write(b"\0" * (base - handle.tell()))
    for raw, entry in zip(raws, entries, strict=True):
        handle.write(b"\0" * (base + entry["offset"] - handle.tell()))
        for piece in _pieces(raw):
            handle.write(piece)


_PIECE = 64 * 1024 * 1024


def _pieces(raw: memoryview) -> Iterator[memoryview]:
    """A buffer in slices; a buffer mapped from a file (a big build's spilled arrays) gives
    back its pages after each, so writing it never makes them all resident at once."""
    for start in range(0, len(raw), _PIECE):
        yield raw[start : start + _PIECE]
        release_pages(raw)


class _Encoder:
    def __init__(self, classes: set[type]) -> None:
        self.classes = classes
        self.buffers: list[memoryview] = []
        self.arrays: list[dict[str, Any]] = []  # dtype and shape, by array number
        self._shared: dict[int, int] = {}  # id of a list/dict/object -> its number
        self._keep: list[Any] = []  # so ids stay unique while encoding

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, float | np.floating):
            return float(value)
        if isinstance(value, np.ndarray):
            return {"a": self._array(value)}
        if isinstance(value, bytes | bytearray | memoryview):
            return {"bytes": self._array(np.frombuffer(value, dtype=np.uint8))}
        if isinstance(value, range):
            return {"range": [value.start, value.stop, value.step]}
        if isinstance(value, datetime.datetime):
            return {"datetime": value.isoformat()}
        if isinstance(value, tuple):
            return {"tuple": [self.encode(v) for v in value]}
        if isinstance(value, set | frozenset):
            return {"set": [self.encode(v) for v in sorted(value, key=repr)]}
        if id(value) in self._shared:  # the same list or dict reached twice stays one
            return {"ref": self._shared[id(value)]}
        if isinstance(value, list | dict) or type(value) in self.classes:
            self._shared[id(value)] = len(self._shared)
            self._keep.append(value)
        number = self._shared.get(id(value))
        if isinstance(value, list):
            return {"list": self._list(value), "n": number}
        if isinstance(value, dict):
            return {"dict": self._dict(value), "n": number}
        if type(value) in self.classes:
            name = f"{type(value).__module__}.{type(value).__qualname__}"
            if isinstance(value, BaseModel):
                return {"model": name, "data": value.model_dump(mode="json"), "n": number}
            return {"object": name, "state": self.encode(value.__getstate__()), "n": number}
        raise TypeError(f"cannot store a {type(value).__name__} in the index cache")

    def _array(self, array: np.ndarray) -> int:
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype.str not in _DTYPES:
            raise TypeError(f"cannot store an array of {array.dtype} in the index cache")
        self.arrays.append({"dtype": dtype.str, "shape": list(array.shape)})
        self.buffers.append(memoryview(array.astype(dtype, copy=False)).cast("B"))
        return len(self.arrays) - 1

    def _list(self, items: list) -> Any:
        kinds = {type(v) for v in items}
        if len(items) > 1 and len(kinds) == 1:  # many models of one class: one validation
            (kind,) = kinds
            if kind in self.classes and issubclass(kind, BaseModel):
                return {
                    "models": f"{kind.__module__}.{kind.__qualname__}",
                    "data": [v.model_dump(mode="json") for v in items],
                }
        if len(items) >= _PACKED_STRINGS and all(type(s) is str and "\0" not in s for s in items):
            joined = "\0".join(items).encode("utf-8", "surrogatepass")
            packed = self._array(np.frombuffer(joined, dtype=np.uint8))
            return {"strings": packed, "count": len(items)}
        return [self.encode(v) for v in items]

    def _dict(self, items: dict) -> Any:
        keys = list(items)
        if all(type(k) is str for k in keys):
            if len(keys) >= _PACKED_STRINGS and all(type(v) is int for v in items.values()):
                return {
                    "keys": self._list(keys),
                    "ints": self._array(np.fromiter(items.values(), np.int64, len(items))),
                }
            return {"str": {k: self.encode(v) for k, v in items.items()}}
        return {"pairs": [[self.encode(k), self.encode(v)] for k, v in items.items()]}


def _aligned(position: int) -> int:
    return -(-position // _ALIGN) * _ALIGN


# ---------------------------------------------------------------- reading


@dataclass
class MappedCache:
    """A cache file mapped into memory: its plain `extra` fields and, on demand, its tree."""

    extra: dict[str, Any]
    _view: memoryview
    _buffers: list[dict[str, Any]]
    _arrays: list[dict[str, Any]]
    _tree: Any
    _base: int

    def root(self) -> Any:
        return _Decoder(self, _classes()).decode(self._tree)

    def buffer(self, number: int) -> memoryview:
        entry = self._buffers[number]
        start = self._base + entry["offset"]
        if start + entry["length"] > len(self._view):
            raise CacheFormatError("the file is shorter than its manifest says")
        return self._view[start : start + entry["length"]]

    def verify_buffers(self, stop: Callable[[], bool] = lambda: False) -> int | None:
        """The number of the first buffer whose bytes fail their CRC-32, or None when every
        buffer is intact (or `stop()` turned true first)."""
        for number, entry in enumerate(self._buffers):
            if stop():
                return None
            if zlib.crc32(self.buffer(number)) != entry["crc32"]:
                return number
        return None


def read_cache_file(path: Path) -> MappedCache:
    """Map `path` and check its manifest; raises CacheFormatError (or OSError)."""
    # Without waiting for a writer: a FIFO put in the cache's place would block the open for
    # ever, and only a regular file is a cache (a device could map without end).
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise CacheFormatError("it is not a regular file")
        try:
            mapped = mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ)
        except ValueError as error:  # an empty file cannot be mapped
            raise CacheFormatError("the file is empty") from error
    finally:
        os.close(descriptor)
    view = memoryview(mapped)
    head = len(MAGIC) + 8 + 16
    if len(view) < head or bytes(view[: len(MAGIC)]) != MAGIC:
        if bytes(view[:14]) == MAGIC[:14]:
            raise CacheFormatError("written by another version")
        raise CacheFormatError("not an index cache file")
    length = int.from_bytes(view[len(MAGIC) : len(MAGIC) + 8], "little")
    digest = bytes(view[len(MAGIC) + 8 : head])
    if length > len(view) - head:
        raise CacheFormatError("the manifest is cut short")
    manifest_bytes = bytes(view[head : head + length])
    if hashlib.blake2b(manifest_bytes, digest_size=16).digest() != digest:
        raise CacheFormatError("the manifest is damaged")
    try:
        manifest = json.loads(manifest_bytes)
        extra, buffers, arrays, tree = (
            manifest["extra"],
            manifest["buffers"],
            manifest["arrays"],
            manifest["tree"],
        )
    except (ValueError, KeyError, TypeError) as error:
        raise CacheFormatError(f"the manifest is unreadable ({error})") from error
    return MappedCache(extra, view, buffers, arrays, tree, _aligned(head + length))


class _Decoder:
    def __init__(self, cache: MappedCache, classes: dict[str, type]) -> None:
        self.cache = cache
        self.classes = classes
        self.shared: dict[int, Any] = {}

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if not isinstance(node, dict) or (len(node) > 2 and "n" not in node):
            raise CacheFormatError("unexpected entry in the manifest")
        if "a" in node:
            return self._array(node["a"])
        if "bytes" in node:
            return self._array(node["bytes"]).tobytes()
        if "range" in node:
            return range(*map(int, node["range"]))
        if "datetime" in node:
            return datetime.datetime.fromisoformat(node["datetime"])
        if "tuple" in node:
            return tuple(self.decode(v) for v in node["tuple"])
        if "set" in node:
            return {self.decode(v) for v in node["set"]}
        if "ref" in node:
            if node["ref"] not in self.shared:
                raise CacheFormatError("a reference to nothing in the manifest")
            return self.shared[node["ref"]]
        if "list" in node:
            return self._remember(node, self._list(node["list"]))
        if "dict" in node:
            return self._remember(node, self._dict(node["dict"]))
        if "model" in node:
            cls = self._class(node["model"])
            return self._remember(node, cls.model_validate(node["data"]))
        if "object" in node:
            cls = self._class(node["object"])
            instance = cls.__new__(cls)
            self._remember(node, instance)
            state = self.decode(node["state"])
            if not isinstance(state, dict):
                raise CacheFormatError("an object's state is not a mapping")
            if "__setstate__" in vars(cls):
                instance.__setstate__(state)
            else:
                instance.__dict__.update(state)
            return instance
        raise CacheFormatError("unexpected entry in the manifest")

    def _remember(self, node: dict, value: Any) -> Any:
        if node.get("n") is not None:
            self.shared[int(node["n"])] = value
        return value

    def _class(self, name: str) -> type:
        if name not in self.classes:
            raise CacheFormatError(f"the cache names a class it may not hold ({name[:80]})")
        return self.classes[name]

    def _array(self, number: Any) -> np.ndarray:
        if not isinstance(number, int) or not 0 <= number < len(self.cache._arrays):
            raise CacheFormatError("a reference to a missing array")
        spec = self.cache._arrays[number]
        if spec.get("dtype") not in _DTYPES:
            raise CacheFormatError("an array of a type the cache may not hold")
        dtype = np.dtype(spec["dtype"])
        shape = tuple(int(n) for n in spec["shape"])
        data = self.cache.buffer(number)
        if int(np.prod(shape)) * dtype.itemsize != len(data):
            raise CacheFormatError("an array's size does not match its shape")
        return np.frombuffer(data, dtype=dtype).reshape(shape)

    def _list(self, node: Any) -> list:
        if isinstance(node, dict) and "models" in node:
            cls = self._class(node["models"])
            if not issubclass(cls, BaseModel):
                raise CacheFormatError("a list of models names something else")
            return TypeAdapter(list[cls]).validate_python(node["data"])
        if isinstance(node, dict) and "strings" in node:
            data = self._array(node["strings"]).tobytes()
            try:
                items = data.decode("utf-8", "surrogatepass").split("\0")
            except UnicodeDecodeError as error:
                raise CacheFormatError("a list of words is damaged") from error
            if len(items) != node.get("count"):
                raise CacheFormatError("a list of words has lost or gained some")
            return items
        if not isinstance(node, list):
            raise CacheFormatError("a list that is not one")
        return [self.decode(v) for v in node]

    def _dict(self, node: Any) -> dict:
        if not isinstance(node, dict):
            raise CacheFormatError("a mapping that is not one")
        if "keys" in node:
            keys = self._list(node["keys"])
            values = self._array(node["ints"])
            if len(keys) != len(values):
                raise CacheFormatError("a mapping's keys and values differ in number")
            return dict(zip(keys, values.tolist(), strict=True))
        if "str" in node:
            return {str(k): self.decode(v) for k, v in node["str"].items()}
        return {self.decode(k): self.decode(v) for k, v in node["pairs"]}
