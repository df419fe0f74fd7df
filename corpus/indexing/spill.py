"""Arrays built by appending, kept in memory or spilled to a file as they grow.

A million-passage build makes half a gigabyte of text and as much of tokens and postings; held
in memory at once, with the pieces joined at the end, they took 2.5 GB. With a directory, each
appended piece goes straight to a file, and `finish` maps the file read-only: the array's pages
then belong to the page cache, which the kernel can drop and read again, and `release_pages`
gives back those a pass has touched. The file is unlinked as soon as it is mapped, so nothing
is left behind. A build killed before that leaves its files; each is locked (flock) by the
process writing it for as long as it writes, so `sweep_spills` can tell a dead build's file
from a live one's whatever process ids have been reused since (a container's bot is often
the same pid after a restart).
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import weakref
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..temporaries import temporary_beside

__all__ = ["SPILL_KIND", "Spill", "release_pages", "sweep_spills"]

# Spilled files are named `.spill-<pid>-<random>` in the cache directory.
SPILL_KIND = "spill"


class Spill:
    """An array of `dtype` made by `append`ing pieces; in `directory` if given, else in
    memory. `finish` gives the whole array (read-only when it was spilled)."""

    def __init__(self, dtype: np.dtype | type, directory: Path | None = None) -> None:
        self.dtype = np.dtype(dtype)
        self._pieces: list[np.ndarray] = []
        self._length = 0
        self._handle: BinaryIO | None = None
        self._remover: weakref.finalize | None = None
        self.path: Path | None = None  # the file, while there is one
        if directory is not None:
            self.path = path = temporary_beside(directory / SPILL_KIND, SPILL_KIND)
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # a new file: no one else holds it
            self._handle = os.fdopen(descriptor, "wb")
            # Removed however the build ends: finished, failed or dropped half way.
            self._remover = weakref.finalize(self, _remove, self._handle, path, os.getpid())

    def __len__(self) -> int:
        return self._length

    def append(self, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype=self.dtype)
        if self._handle is not None:
            self._handle.write(memoryview(values).cast("B"))
        else:
            self._pieces.append(values)
        self._length += len(values)

    def finish(self) -> np.ndarray:
        if self._handle is None:
            pieces, self._pieces = self._pieces, []
            if len(pieces) == 1:
                return pieces[0]
            return np.concatenate(pieces) if pieces else np.zeros(0, dtype=self.dtype)
        try:
            self._handle.flush()
            if not self._length or not self.dtype.itemsize:
                return np.zeros(0, dtype=self.dtype)
            mapped = mmap.mmap(self._handle.fileno(), 0, access=mmap.ACCESS_READ)
            return np.frombuffer(mapped, dtype=self.dtype, count=self._length)
        finally:
            self.discard()
            self._handle = None

    def discard(self) -> None:
        """Close and remove the file, if any (a mapping made of it stays valid)."""
        if self._remover is not None:
            self._remover()
        self.path = None


def _remove(handle: BinaryIO, path: Path, owner: int) -> None:
    if os.getpid() != owner:  # a forked worker's copy: neither flushed nor removed from here
        return
    with contextlib.suppress(OSError):
        path.unlink()
    handle.close()


def sweep_spills(directory: Path) -> None:
    """Remove the spilled files of builds that are no longer running (killed, or cut off by
    a crash): those whose lock no process holds."""
    try:
        leftovers = list(directory.glob(f".{SPILL_KIND}-*"))
    except OSError:
        return
    for leftover in leftovers:
        try:
            descriptor = os.open(leftover, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a build is writing it now
        finally:
            os.close(descriptor)
        with contextlib.suppress(OSError):
            leftover.unlink()


def release_pages(array: np.ndarray | memoryview) -> None:
    """Give the resident pages of a file-mapped array (or a view of one) back to the page
    cache; a no-op for an array in memory. Its bytes stay where they are, and are read
    again when touched."""
    mapped = _mapping_of(array)
    if mapped is not None and hasattr(mmap, "MADV_DONTNEED"):
        with contextlib.suppress(OSError, ValueError):
            mapped.madvise(mmap.MADV_DONTNEED)


def _mapping_of(array: np.ndarray | memoryview) -> mmap.mmap | None:
    base: object = array
    for _ in range(16):  # views of views of a memoryview of the mapping
        if isinstance(base, mmap.mmap):
            return base
        if isinstance(base, memoryview):
            base = base.obj
        elif isinstance(base, np.ndarray) and base.base is not None:
            base = base.base
        else:
            return None
    return None
