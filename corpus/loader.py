"""Stage 1: read seed files into `Document`s.

A seed is `<id>.txt` (UTF-8) with an optional `<id>.meta.toml` beside it. Hidden files are
ignored. The text is kept exactly as decoded, because every quote is a slice of it.
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from .errors import NoSeedsError, SeedFileError
from .models import Document, DocumentMeta

__all__ = ["META_SUFFIX", "SEED_SUFFIX", "LoadResult", "load_seeds", "seed_files"]

_log = logging.getLogger(__name__)

SEED_SUFFIX = ".txt"
META_SUFFIX = ".meta.toml"


@dataclass
class LoadResult:
    documents: list[Document]
    # Files that could not be used; the rest of the corpus still loads, and front ends show these.
    problems: list[SeedFileError] = field(default_factory=list)


def seed_files(directory: Path) -> list[Path]:
    """The seed files of `directory`, sorted by name; raises NoSeedsError if there is none."""
    if not directory.exists():
        raise NoSeedsError(directory, "the seeds directory does not exist")
    if not directory.is_dir():
        raise NoSeedsError(directory, "the seeds path is not a directory")
    try:
        files = sorted(
            p
            for p in directory.iterdir()
            if p.suffix == SEED_SUFFIX and not p.name.startswith(".") and not p.is_dir()
        )
    except OSError as exc:
        raise NoSeedsError(directory, f"the directory cannot be read ({exc.strerror})") from exc
    if not files:
        raise NoSeedsError(directory, f"the seeds directory has no {SEED_SUFFIX} files")
    return files


def load_seeds(directory: Path) -> LoadResult:
    """Load every seed of `directory`. Broken files are reported, not fatal, unless all are."""
    result = LoadResult(documents=[])
    for path in seed_files(directory):
        try:
            result.documents.append(_load_document(path))
        except SeedFileError as problem:
            result.problems.append(problem)
    if not result.documents:
        details = "; ".join(str(p) for p in result.problems)
        raise NoSeedsError(directory, f"no seed file could be used: {details}")
    return result


def _load_document(path: Path) -> Document:
    raw = _read_bytes(path)
    text = _decode(path, raw)
    meta_path = path.with_name(path.stem + META_SUFFIX)
    meta, meta_raw = _load_meta(meta_path)
    return Document(
        id=path.stem,
        title=meta.title or headline_of(text) or title_from_file_name(path.stem),
        source=meta.source,
        date=meta.date,
        url=meta.url,
        path=str(path),
        text=text,
        sha256=hashlib.sha256(raw + b"\0" + meta_raw).hexdigest(),
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SeedFileError(path, f"cannot be read ({exc.strerror or exc})") from exc


def _decode(path: Path, raw: bytes) -> str:
    try:
        # utf-8-sig drops a byte-order mark, which would otherwise start the first quote.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SeedFileError(
            path,
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}); "
            "save it as UTF-8",
        ) from exc
    if not text.strip():
        raise SeedFileError(path, "is empty")
    return text


def _load_meta(meta_path: Path) -> tuple[DocumentMeta, bytes]:
    """Metadata is optional; a broken metadata file is logged and ignored, not fatal."""
    if not meta_path.exists():
        return DocumentMeta(), b""
    try:
        raw = meta_path.read_bytes()
        return DocumentMeta.model_validate(tomllib.loads(raw.decode("utf-8"))), raw
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValidationError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _log.warning("Ignoring metadata file %s: %s", meta_path, first_line)
        return DocumentMeta(), b""


def headline_of(text: str) -> str | None:
    """The article's headline, when it opens with one: a short first line of its own (a
    blank line after it), without a full stop, as news articles are saved."""
    first, separator, rest = text.lstrip().partition("\n")
    first = first.strip()
    if not separator or not rest.startswith(("\n", "\r\n")) or not first:
        return None
    if len(first) > 200 or len(first.split()) > 20 or first.endswith((".", "!", "?", ":")):
        return None
    return first


def title_from_file_name(stem: str) -> str:
    words = stem.replace("_", " ").replace("-", " ").split()
    title = " ".join(words) or stem
    return title[:1].upper() + title[1:]
