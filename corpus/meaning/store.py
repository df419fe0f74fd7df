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
import stat
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .encoder import EncoderFailed

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
        self.save_error: str | None = None  # why the last save failed
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
        if not np.isfinite(vectors).all():
            raise EncoderFailed("the encoder gave vectors that are not numbers")
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
        """Write what this process encoded, merged with what others have saved since. A
        failure is logged and kept in `save_error` (the vectors stay in memory)."""
        path = self.path
        if path is None or not self.unsaved:
            return
        with self._lock:
            count = self._count
            keys, vectors = self._keys[:count].copy(), self._vectors[:count].copy()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(path.with_name(path.name + ".lock")):
                on_disk_keys, on_disk_vectors = self._read()
                if self.path is None:
                    return  # unreadable now: not written over
                known = set(on_disk_keys.tolist())
                mine = np.array([k not in known for k in keys.tolist()], dtype=bool)
                keys = np.concatenate([on_disk_keys, keys[mine]])[-MAX_STORED:]
                vectors = np.concatenate([on_disk_vectors, vectors[mine]])[-MAX_STORED:]
                self._write(keys, vectors)
        except OSError as error:
            self.save_error = f"{error.strerror or error} ({path})"
            log.warning("Could not save the sentence vectors: %s", self.save_error)
            return
        self.save_error = None
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
        """The stored keys and vectors; none, with a warning, when the file is not a store
        this code wrote (it is set aside) or cannot be read (it is left alone)."""
        empty = (np.zeros(0, np.uint64), np.zeros((0, self.dimension), np.float16))
        assert self.path is not None
        try:
            info = self.path.lstat()
        except FileNotFoundError:
            return empty
        except OSError as error:
            return self._unreadable(error, empty)
        try:
            if not stat.S_ISREG(info.st_mode):  # a pipe would block, a link lead elsewhere
                raise ValueError("it is not a regular file")
            keys, vectors = _checked_arrays(self.path, self.dimension)
        except PermissionError as error:
            return self._unreadable(error, empty)
        except Exception as error:
            log.warning(
                "The sentence vectors in %s cannot be read (%s); they will be encoded again.",
                self.path,
                error,
            )
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_suffix(".damaged"))
            return empty
        return keys, vectors

    def _unreadable(self, error: OSError, empty: tuple[np.ndarray, np.ndarray]):
        """A store this process may not read is kept as it is, and not written over: vectors
        are kept in memory only."""
        log.warning(
            "The sentence vectors in %s cannot be read (%s); they are kept in memory only.",
            self.path,
            error.strerror or error,
        )
        self.path = None
        return empty

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


def _checked_arrays(path: Path, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """The file's two arrays, after checking from their headers, before any is read, that
    they are what `_write` writes: uint64 keys and float16 rows of `dimension`, at most
    MAX_STORED of them; and then that every value is finite."""
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if names != {"keys.npy", "vectors.npy"}:
            raise ValueError(f"it holds {sorted(names)[:4]}, not keys and vectors")
        shapes = {}
        for name in names:
            with archive.open(name) as member:
                version = np.lib.format.read_magic(member)
                if version != (1, 0):
                    raise ValueError(f"{name} has format version {version}")
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                shapes[name] = (shape, dtype)
    (key_shape, key_dtype), (row_shape, row_dtype) = shapes["keys.npy"], shapes["vectors.npy"]
    if (
        key_dtype != np.uint64
        or row_dtype != np.float16
        or len(key_shape) != 1
        or key_shape[0] > MAX_STORED
        or row_shape != (key_shape[0], dimension)
    ):
        raise ValueError("its arrays are not keys and vectors that fit together")
    with np.load(path, allow_pickle=False) as data:
        keys, vectors = data["keys"], data["vectors"]
    if not np.isfinite(vectors).all():
        raise ValueError("it holds vectors that are not numbers")
    return keys, vectors


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
