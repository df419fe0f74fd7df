"""Encoded texts kept on disk, found by their text: a sentence is encoded once, whatever
collection or rebuild it turns up in.

One file per encoder in the cache directory, `vectors-<encoder>.npz`: a 64-bit BLAKE2b digest of
each text and its vector as float16 (768 bytes a sentence), read with numpy's pickle-free
loader (data only). Saving merges with what another process saved meanwhile, under a lock file,
and replaces the file atomically; an unreadable file is set aside with a warning and rebuilt.
The store is bounded: past MAX_STORED rows the oldest are dropped when it is saved.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["MAX_STORED", "VectorStore", "text_key"]

log = logging.getLogger(__name__)

# Rows kept at most (300 MB on disk and in memory): several collections' worth of the 60,000
# sentences a collection is encoded ahead for.
MAX_STORED = 400_000
# Vectors encoded for questions are saved in the background once this many are unsaved, at
# most once a minute.
SAVE_SOON_ROWS = 64
SAVE_SOON_SECONDS = 60.0
_INITIAL_ROWS = 1024


def text_key(text: str) -> int:
    """The text's 64-bit key (BLAKE2b): a million texts collide with odds of about 1e-8."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1  # 0 means "not computed" in callers' arrays


class VectorStore:
    """The vectors of texts, by key, in memory and (with a directory) on disk."""

    def __init__(self, directory: Path | None, encoder_name: str, dimension: int) -> None:
        self.path = directory / f"vectors-{encoder_name}.npz" if directory is not None else None
        self.dimension = dimension
        self._lock = threading.Lock()
        self._row_of: dict[int, int] = {}
        self._keys = np.zeros(_INITIAL_ROWS, dtype=np.uint64)
        self._vectors = np.zeros((_INITIAL_ROWS, dimension), dtype=np.float16)
        self._count = 0
        self._saved = 0  # rows [0, _saved) are on disk
        self._saver: threading.Thread | None = None
        self._last_save = time.monotonic()
        if self.path is not None:
            keys, vectors = self._read()
            self._append(keys, vectors)
            self._saved = self._count

    def __len__(self) -> int:
        return self._count

    def rows_of(self, keys: np.ndarray) -> np.ndarray:
        """Each key's row, or -1 for a text never encoded."""
        row_of = self._row_of
        return np.fromiter((row_of.get(k, -1) for k in keys.tolist()), np.int64, len(keys))

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """float32 rows (all known)."""
        return self._vectors[rows].astype(np.float32)

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Keep these texts' vectors; their rows."""
        with self._lock:
            fresh = np.array([k not in self._row_of for k in keys.tolist()], dtype=bool)
            self._append(keys[fresh], vectors[fresh])
        return self.rows_of(keys)

    @property
    def unsaved(self) -> int:
        return self._count - self._saved

    def save_soon(self) -> None:
        """Save in a background thread, when enough is unsaved and no save ran for a while:
        vectors encoded for questions are kept without a question waiting for the write."""
        now = time.monotonic()
        if self.unsaved < SAVE_SOON_ROWS or now - self._last_save < SAVE_SOON_SECONDS:
            return
        with self._lock:
            if self._saver is not None and self._saver.is_alive():
                return
            self._last_save = now
            self._saver = threading.Thread(target=self.save, name="quotebot-save", daemon=True)
            self._saver.start()

    def save(self) -> None:
        """Write what this process encoded, merged with what others have saved since."""
        if self.path is None or not self.unsaved:
            return
        with self._lock:
            count = self._count
            keys, vectors = self._keys[:count].copy(), self._vectors[:count].copy()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(self.path.with_name(self.path.name + ".lock")):
                on_disk_keys, on_disk_vectors = self._read()
                known = set(on_disk_keys.tolist())
                mine = np.array([k not in known for k in keys.tolist()], dtype=bool)
                keys = np.concatenate([on_disk_keys, keys[mine]])[-MAX_STORED:]
                vectors = np.concatenate([on_disk_vectors, vectors[mine]])[-MAX_STORED:]
                self._write(keys, vectors)
        except OSError as error:
            log.warning("Could not save the sentence vectors to %s: %s", self.path, error)
            return
        self._saved = max(self._saved, count)

    def _append(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        needed = self._count + len(keys)
        if needed > len(self._keys):
            capacity = max(needed, 2 * len(self._keys))
            self._keys = np.resize(self._keys, capacity)
            grown = np.zeros((capacity, self.dimension), dtype=np.float16)
            grown[: self._count] = self._vectors[: self._count]
            self._vectors = grown
        start = self._count
        self._keys[start:needed] = keys
        self._vectors[start:needed] = vectors
        for offset, key in enumerate(keys.tolist()):
            self._row_of[key] = start + offset
        self._count = needed

    def _read(self) -> tuple[np.ndarray, np.ndarray]:
        empty = (np.zeros(0, np.uint64), np.zeros((0, self.dimension), np.float16))
        assert self.path is not None
        if not self.path.exists():
            return empty
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
            if (
                keys.dtype != np.uint64
                or vectors.dtype != np.float16
                or vectors.shape != (len(keys), self.dimension)
            ):
                raise ValueError("its arrays do not fit together")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            log.warning(
                "The sentence vectors in %s cannot be read (%s); they will be encoded again.",
                self.path,
                error,
            )
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_suffix(".damaged"))
            return empty
        return keys, vectors

    def _write(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        assert self.path is not None
        handle, name = tempfile.mkstemp(prefix=".vectors-", suffix=".part", dir=self.path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, keys=keys, vectors=vectors)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(name, 0o600)
            os.replace(name, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
