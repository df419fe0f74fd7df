"""Persistence: the built index is cached on disk and reused while the seeds are unchanged.

Seed files whose size and modification time are as the cache recorded are trusted unread.
Otherwise the cache key decides: a hash of every seed's content and metadata, the index
settings, the tokenizer version and this file format's version, so editing, adding or removing
a seed, or upgrading the tokenizer, rebuilds (reusing what unchanged files produced). One cache
file per seeds directory, replaced atomically. A cache file that cannot be read (truncated,
corrupt, written by another version) is rebuilt with a warning.

The cache holds a pickle: only point the cache directory at files this program wrote.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import pickle
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import SeedFileError
from .index import CorpusIndex, Progress, build_index
from .loader import META_SUFFIX, load_seeds, seed_files
from .models import Document, IndexConfig
from .tokenize import TOKENIZER_VERSION

__all__ = ["CACHE_FORMAT", "CacheStatus", "OpenedIndex", "cache_path", "content_hash", "open_index"]

_log = logging.getLogger(__name__)

CACHE_FORMAT = 9
CacheStatus = Literal["reused", "built", "rebuilt", "uncached"]


@dataclass(frozen=True)
class OpenedIndex:
    index: CorpusIndex
    cache_status: CacheStatus
    seconds: float  # to load from cache, or to build (and save)
    problems: list[SeedFileError]
    save_seconds: float = 0.0  # of `seconds`, writing the cache


def content_hash(documents: list[Document], config: IndexConfig) -> str:
    digest = hashlib.sha256()
    digest.update(f"format={CACHE_FORMAT};tokenizer={TOKENIZER_VERSION};".encode())
    digest.update(config.model_dump_json().encode())
    for document in documents:
        digest.update(f"\n{document.id}\0{document.sha256}".encode())
    return digest.hexdigest()


def cache_path(cache_dir: Path, seeds_dir: Path) -> Path:
    where = hashlib.sha256(str(seeds_dir.resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"index-{where}.cache"


def open_index(
    seeds_dir: Path,
    *,
    cache_dir: Path | None,
    config: IndexConfig | None = None,
    force_rebuild: bool = False,
    progress: Progress | None = None,
) -> OpenedIndex:
    """Return the index of the seeds, from the cache when it is still valid.

    A cache whose seed files all have the size and modification time it recorded is used
    without reading a single seed (a restart over thousands of files stays instant). Otherwise
    the seeds are read and hashed: the same content still reuses the cache; changed content is
    rebuilt, taking unchanged documents from the old index as they are, so only new and
    changed files are read and tokenised again.
    """
    config = config or IndexConfig()
    started = time.perf_counter()
    if cache_dir is None:
        loaded = load_seeds(seeds_dir)
        key = content_hash(loaded.documents, config)
        index = build_index(loaded.documents, config, key, progress=progress, release_texts=True)
        return OpenedIndex(index, "uncached", time.perf_counter() - started, loaded.problems)

    path = cache_path(cache_dir, seeds_dir)
    existed = path.exists()
    stamps = seed_stamps(seeds_dir)
    cached = None if force_rebuild else _read_cache(path)
    if cached is not None and cached.seed_stamps == stamps and cached.config == config:
        problems = [SeedFileError(Path(p), problem) for p, problem in cached.seed_problems]
        return OpenedIndex(cached, "reused", time.perf_counter() - started, problems)

    loaded = load_seeds(seeds_dir)
    key = content_hash(loaded.documents, config)
    if cached is not None and cached.content_hash == key:
        index, status = cached, "reused"  # touched but unchanged: remember the new times
    else:
        index = build_index(
            loaded.documents,
            config,
            key,
            previous=cached,
            progress=progress,
            release_texts=True,  # nothing here reads them after the build
        )
        status = "rebuilt" if existed else "built"
    index.seed_stamps = stamps
    index.seed_problems = [(str(p.path), p.problem) for p in loaded.problems]
    saving = time.perf_counter()
    _write_cache(path, index)
    finished = time.perf_counter()
    return OpenedIndex(index, status, finished - started, loaded.problems, finished - saving)


def seed_stamps(seeds_dir: Path) -> dict[str, tuple[int, int]]:
    """(size, modification time) of every seed and metadata file, by name."""
    stamps = {}
    for path in seed_files(seeds_dir):
        for file in (path, path.with_name(path.stem + META_SUFFIX)):
            try:
                status = file.stat()
            except OSError:
                continue
            stamps[file.name] = (status.st_size, status.st_mtime_ns)
    return stamps


# Cache file layout: MAGIC, then little-endian u64s: format, pickle length, buffer count, and
# an (offset, length) pair per buffer; then the pickle; then the buffers, each 64-byte aligned.
# Large numpy arrays travel as pickle-5 out-of-band buffers, so loading maps them from the file
# instead of reading them: a big index opens in a fraction of a second and only the pages that
# queries touch come into memory.
_MAGIC = b"QUOTEBOT-INDEX\n"
_ALIGN = 64


def _read_cache(path: Path) -> CorpusIndex | None:
    try:
        with path.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        _log.warning("The index cache %s could not be read (%s); rebuilding it.", path, exc)
        return None
    try:
        view = memoryview(mapped)
        if bytes(view[: len(_MAGIC)]) != _MAGIC:
            raise ValueError("not an index cache file")
        header = len(_MAGIC)
        version, pickle_length, count = struct.unpack_from("<QQQ", mapped, header)
        if version != CACHE_FORMAT:
            _log.warning("The index cache %s is from another version; rebuilding it.", path)
            return None
        table = struct.unpack_from(f"<{2 * count}Q", mapped, header + 24)
        start = header + 24 + 16 * count
        buffers = [view[table[2 * i] : table[2 * i] + table[2 * i + 1]] for i in range(count)]
        index = pickle.loads(view[start : start + pickle_length], buffers=buffers)
    except Exception as exc:  # any unreadable cache means: rebuild
        _log.warning("The index cache %s could not be read (%s); rebuilding it.", path, exc)
        return None
    if not isinstance(index, CorpusIndex):
        _log.warning("The index cache %s is from another version; rebuilding it.", path)
        return None
    return index


def _write_cache(path: Path, index: CorpusIndex) -> None:
    """Write atomically, so a crash mid-write never leaves a half file behind."""
    temporary: str | None = None
    try:
        buffers: list[pickle.PickleBuffer] = []
        data = pickle.dumps(index, protocol=5, buffer_callback=buffers.append)
        raws = [buffer.raw() for buffer in buffers]
        header = len(_MAGIC) + 24 + 16 * len(raws)
        offsets, position = [], _aligned(header + len(data))
        for raw in raws:
            offsets += [position, raw.nbytes]
            position = _aligned(position + raw.nbytes)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".index-")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_MAGIC)
            handle.write(struct.pack("<QQQ", CACHE_FORMAT, len(data), len(raws)))
            handle.write(struct.pack(f"<{len(offsets)}Q", *offsets))
            handle.write(data)
            for raw, offset in zip(raws, offsets[::2], strict=True):
                handle.write(b"\0" * (offset - handle.tell()))
                handle.write(raw)
        os.replace(temporary, path)
    except OSError as exc:
        _log.warning(
            "Could not save the index cache to %s (%s); it will be rebuilt next time.",
            path,
            exc.strerror or exc,
        )
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)


def _aligned(position: int) -> int:
    return -(-position // _ALIGN) * _ALIGN
