"""Persistence: the built index is cached on disk and reused while the seeds are unchanged.

Seed files whose size and modification time are as the cache recorded are trusted unread.
Otherwise the cache key decides: a hash of every seed's content and metadata, the index
settings, the tokenizer version and this file format's version, so editing, adding or removing
a seed, or upgrading the tokenizer, rebuilds (reusing what unchanged files produced). One cache
file per seeds directory, replaced atomically, readable by its owner only. A cache file that
cannot be read (truncated, damaged, written by another version) is rebuilt with a warning.

The file holds data only (corpus/indexing/cachefile.py): opening a cache never runs code from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import DamagedIndexError, SeedFileError
from ..ingest.loader import (
    META_SUFFIX,
    SeedScan,
    load_seeds,
    no_usable_seeds,
    read_seeds,
    scan_seeds,
)
from ..models import CacheReport, Document, IndexConfig
from ..temporaries import is_abandoned
from ..tokenize import TOKENIZER_VERSION
from .cachefile import CacheFormatError, MappedCache, read_cache_file, write_cache_file
from .index import CorpusIndex, Progress, build_index
from .spill import sweep_spills

__all__ = [
    "CACHE_FORMAT",
    "CacheStatus",
    "OpenedIndex",
    "cache_path",
    "content_hash",
    "open_index",
    "verify_cache",
]

_log = logging.getLogger(__name__)

# 13: the BM25 postings carry each term's largest part of a score, for pruning.
# 14: the token table keeps no rows being added (a build streams them to files).
CACHE_FORMAT = 14
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
    follow = config.follow_links
    scan = scan_seeds(seeds_dir, follow_links=follow)
    if cache_dir is None:
        index, problems = _build(seeds_dir, scan, config, progress=progress)
        return OpenedIndex(index, "uncached", time.perf_counter() - started, problems)

    path = cache_path(cache_dir, seeds_dir)
    _sweep_temporaries(cache_dir)  # a killed writer's, even when nothing is saved this time
    sweep_spills(cache_dir)  # and a killed build's
    existed = path.exists()
    stamps = scan.stamps
    cached = None if force_rebuild else _read_cache(path)
    if cached is not None and cached.seed_stamps == stamps and cached.config == config:
        # Entries the scan refused are reported as they are now; files that failed to load
        # as they did when the index was built (they have not changed since).
        refused = {p.path for p in scan.problems}
        problems = scan.problems + [
            SeedFileError(Path(p), problem)
            for p, problem in cached.seed_problems
            if Path(p) not in refused and Path(p).name in stamps
        ]
        return OpenedIndex(cached, "reused", time.perf_counter() - started, problems)

    built = _build_spilled(seeds_dir, scan, config, cached, progress, cache_dir)
    if built is None:  # (after the failed build is gone: its files, its workers)
        built = _build(seeds_dir, scan, config, previous=cached, progress=progress)
    index, problems = built
    if cached is not None and cached.content_hash == index.content_hash:
        index, status = cached, "reused"  # touched but unchanged: remember the new times
    else:
        status = "rebuilt" if existed else "built"
    index.seed_stamps = stamps
    index.seed_problems = [(str(p.path), p.problem) for p in problems]
    saving = time.perf_counter()
    if _write_cache(path, index) and status != "reused":
        # Served from the file just written, as after a restart: the build's own arrays
        # (files it spilled to, already unlinked) go, and memory holds only what answering
        # touches.
        index = _reopened(path, index)
    finished = time.perf_counter()
    return OpenedIndex(index, status, finished - started, problems, finished - saving)


def _build_spilled(
    seeds_dir: Path,
    scan: SeedScan,
    config: IndexConfig,
    previous: CorpusIndex | None,
    progress: Progress | None,
    cache_dir: Path,
) -> tuple[CorpusIndex, list[SeedFileError]] | None:
    """`_build` with the big arrays in files beside the cache as the build makes them; None
    when the cache directory cannot take them (it cannot be written, or the disk is full),
    for the caller to build in memory instead."""
    try:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return _build(
            seeds_dir, scan, config, previous=previous, progress=progress, spill_to=cache_dir
        )
    except OSError as exc:
        _log.warning(
            "Could not write to the cache directory %s (%s); building in memory.",
            cache_dir,
            exc.strerror or exc,
        )
        return None


def _build(
    seeds_dir: Path,
    scan: SeedScan,
    config: IndexConfig,
    *,
    previous: CorpusIndex | None = None,
    progress: Progress | None = None,
    spill_to: Path | None = None,
) -> tuple[CorpusIndex, list[SeedFileError]]:
    """The index of the scanned seeds, each file read as the build comes to it, and the
    files that could not be used. Raises NoSeedsError when none could. Documents `previous`
    holds with the same content are not analysed again; with the same settings, files whose
    size and time it recorded are taken from it unread."""
    problems = list(scan.problems)
    usable = previous if previous is not None and previous.config == config else None
    known = _unchanged_from(usable, scan.stamps, seeds_dir) if usable is not None else None
    try:
        index = build_index(
            read_seeds(scan, problems, known=known),
            config,
            previous=previous,
            progress=progress,
            expected=(len(scan.files), _bytes_to_read(scan, usable)),
            spill_to=spill_to,
        )
    except DamagedIndexError:
        if previous is None:
            raise
        _log.warning("The cached index is damaged; reading every seed file again.")
        return _build(seeds_dir, scan, config, progress=progress, spill_to=spill_to)
    if not index.spans:
        raise no_usable_seeds(seeds_dir, problems)
    index.content_hash = content_hash(index.documents, config)
    return index, problems


def _bytes_to_read(scan: SeedScan, previous: CorpusIndex | None) -> int:
    """The size of the seed files a build will read (not take unread from `previous`)."""
    recorded = previous.seed_stamps if previous is not None else {}
    return sum(
        scan.stamps[path.name][0]
        for path in scan.files
        if not _stamped_alike(path, scan.stamps, recorded)
    )


def _stamped_alike(
    path: Path, stamps: dict[str, tuple[int, int]], recorded: dict[str, tuple[int, int]]
) -> bool:
    """Whether a seed file and its metadata file have the size and time `recorded`."""
    meta = f"{path.stem}{META_SUFFIX}"
    return all(stamps.get(n) == recorded.get(n) for n in (path.name, meta))


def _reopened(path: Path, built: CorpusIndex) -> CorpusIndex:
    """The index as read back from the cache just written (`built` if that fails)."""
    try:
        reread = _decoded(read_cache_file(path), check_buffers=False)
    except Exception as exc:  # the file was just written: say why, and serve the build
        _log.warning("The index cache %s could not be read back (%s).", path, exc)
        return built
    return reread if reread.content_hash == built.content_hash else built


def _unchanged_from(
    cached: CorpusIndex, stamps: dict[str, tuple[int, int]], seeds_dir: Path
) -> Callable[[Path], Document | SeedFileError | None]:
    """What the cached index already holds of each seed file whose size and modification
    time (and its metadata file's) are as they were: the document, with its text from the
    cache, or the reason it could not be used. The file itself is not read again."""
    problems = {Path(path).name: problem for path, problem in cached.seed_problems}

    def known(path: Path) -> Document | SeedFileError | None:
        if not _stamped_alike(path, stamps, cached.seed_stamps):
            return None
        if path.name in problems:
            return SeedFileError(path, problems[path.name])
        span = cached.spans.get(path.stem)
        if span is None or Path(span.document.path).name != path.name:
            return None
        if not cached.texts.verify(span.number):  # damaged in the cache: read the file
            return None
        return span.document.model_copy(update={"text": cached.document_text(path.stem)})

    return known


def verify_cache(seeds_dir: Path, *, cache_dir: Path | None, config: IndexConfig) -> CacheReport:
    """Check the cache of these seeds thoroughly: every buffer's checksum, the structure, each
    stored text's hash, and each stored text against its seed file as loaded now."""
    if cache_dir is None:
        return CacheReport(cache_file=None, intact=False, articles=0, problems=("No cache.",))
    path = cache_path(cache_dir, seeds_dir)
    problems: list[str] = []
    try:
        index = _decoded(read_cache_file(path), check_buffers=True)
    except FileNotFoundError:
        return CacheReport(
            cache_file=str(path), intact=False, articles=0, problems=("There is no cache yet.",)
        )
    except Exception as exc:  # any damage: say what
        return CacheReport(
            cache_file=str(path), intact=False, articles=0, problems=(f"Damaged: {exc}.",)
        )
    if index.config != config:
        problems.append("It was built with other index settings; it will be rebuilt.")
    seeds = {d.id: d for d in load_seeds(seeds_dir, follow_links=config.follow_links).documents}
    for doc_id, span in index.spans.items():
        if not index.texts.verify(span.number):
            problems.append(f"The stored text of “{doc_id}” does not match its hash.")
        elif doc_id not in seeds:
            problems.append(f"“{doc_id}” is no longer among the seeds.")
        elif seeds[doc_id].text != index.document_text(doc_id):
            problems.append(f"“{doc_id}” has changed since it was indexed.")
    problems.extend(f"“{d}” is not indexed yet." for d in seeds if d not in index.spans)
    return CacheReport(
        cache_file=str(path),
        intact=not problems,
        articles=len(index.spans),
        problems=tuple(problems),
    )


# Caches up to this size are checked buffer by buffer as they open (about 0.1 s); bigger ones
# open at once and are checked in a background thread, while every quote shown is checked
# against its document's content hash anyway (CorpusIndex.verify_document).
VERIFY_ON_OPEN_BYTES = 256 * 1024 * 1024
# A temporary file left by a save that was killed: removed once its writer is gone, or after
# this long whoever wrote it.
_STALE_SECONDS = 24 * 3600
_TEMPORARY = "index"


def _read_cache(path: Path) -> CorpusIndex | None:
    try:
        mapped = read_cache_file(path)
    except FileNotFoundError:
        return None
    except (OSError, CacheFormatError) as exc:
        _log.warning("The index cache %s could not be read (%s); rebuilding it.", path, exc)
        return None
    if mapped.extra.get("format") != CACHE_FORMAT:
        _log.warning("The index cache %s is from another version; rebuilding it.", path)
        return None
    small = mapped.extra.get("buffer_bytes", 0) <= VERIFY_ON_OPEN_BYTES
    try:
        index = _decoded(mapped, check_buffers=small)
    except Exception as exc:  # any damage or inconsistency means: rebuild
        _log.warning("The index cache %s is damaged (%s); rebuilding it.", path, exc)
        return None
    if not small:
        _verify_in_background(mapped, index, path)
    return index


def _decoded(mapped: MappedCache, *, check_buffers: bool) -> CorpusIndex:
    """The index a mapped cache holds, its buffers checked first if asked, its structure
    always; raises on damage."""
    if check_buffers and (damaged := mapped.verify_buffers()) is not None:
        raise CacheFormatError(f"buffer {damaged} fails its checksum")
    index = mapped.root()
    if not isinstance(index, CorpusIndex):
        raise CacheFormatError("it does not hold an index")
    index.check_consistency()
    return index


def _verify_in_background(mapped: MappedCache, index: CorpusIndex, path: Path) -> None:
    """Check a big cache's buffers without holding up the open. On damage the index is
    marked, so the corpus rebuilds before its next answer, and the file goes."""

    def check() -> None:
        try:
            damaged = mapped.verify_buffers(stop=lambda: index.damaged)
        except (OSError, ValueError, CacheFormatError) as exc:
            damaged, reason = -1, str(exc)
        else:
            reason = f"buffer {damaged} fails its checksum"
        if damaged is not None:
            _log.warning("The index cache %s is damaged (%s); rebuilding it.", path, reason)
            index.damaged = True
            with contextlib.suppress(OSError):
                path.unlink()

    threading.Thread(target=check, name="verify-index-cache", daemon=True).start()


def _write_cache(path: Path, index: CorpusIndex) -> bool:
    """Write atomically, readable by the owner only, so a crash or an interrupt mid-write
    never leaves a half file behind (and a killed writer's temporary is swept next time).
    Whether it was written."""
    temporary: str | None = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{_TEMPORARY}-{os.getpid()}-"
        )
        with os.fdopen(descriptor, "wb") as handle:
            write_cache_file(handle, index, {"format": CACHE_FORMAT})
        os.replace(temporary, path)
        temporary = None
        return True
    except OSError as exc:
        _log.warning(
            "Could not save the index cache to %s (%s); it will be rebuilt next time.",
            path,
            exc.strerror or exc,
        )
        return False
    finally:  # also on KeyboardInterrupt: the temporary goes
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _sweep_temporaries(directory: Path) -> None:
    """Remove temporaries whose writer has died (the pid in the name) or that are stale; one
    a live process is writing now stays."""
    try:
        leftovers = list(directory.glob(f".{_TEMPORARY}-*"))
    except OSError:
        return
    for leftover in leftovers:
        if is_abandoned(leftover, _TEMPORARY, stale_seconds=_STALE_SECONDS):
            with contextlib.suppress(OSError):
                leftover.unlink()
