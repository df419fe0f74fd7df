"""Stage 1: read seed files into `Document`s.

A seed is `<id>.txt` (UTF-8), `.md`, `.html` or `.pdf`, with an optional `<id>.meta.toml` beside
it; corpus/ingest/formats.py turns each into plain text, which is stored and never changed
after, because every quote is a slice of it. Hidden files are ignored; any other file is skipped
with a warning naming it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from ..errors import NoSeedsError, SeedFileError
from ..models import Document, DocumentMeta
from .formats import SUFFIXES, extract
from .isolation import extract_isolated, needs_isolation
from .limits import megabytes

__all__ = [
    "MAX_META_BYTES",
    "META_SUFFIX",
    "SEED_SUFFIX",
    "LoadResult",
    "SeedScan",
    "article_document",
    "load_seeds",
    "meta_beside",
    "no_usable_seeds",
    "read_article",
    "read_regular_file",
    "read_seeds",
    "scan_seeds",
    "seed_files",
]

_log = logging.getLogger(__name__)

SEED_SUFFIX = ".txt"
META_SUFFIX = ".meta.toml"
# A metadata file is a few lines of TOML; anything much bigger is not one.
MAX_META_BYTES = 64 * 1024
READ_TYPES = ", ".join(SUFFIXES)


@dataclass
class LoadResult:
    documents: list[Document]
    # Files that could not be used; the rest of the corpus still loads, and front ends show these.
    problems: list[SeedFileError] = field(default_factory=list)


@dataclass
class SeedScan:
    """What a seeds directory holds: its seed files (sorted by name), the (size, modification
    time) of each seed and metadata file by name, and the entries refused, with why."""

    files: list[Path]
    stamps: dict[str, tuple[int, int]]
    problems: list[SeedFileError]


def scan_seeds(directory: Path, *, follow_links: bool = False) -> SeedScan:
    """One pass over the directory. Only regular files are read: a FIFO would hang the build
    and a device (a link to /dev/zero) never ends. A symbolic link is followed only to a file
    inside the directory, unless `follow_links`. Raises NoSeedsError without a seed file."""
    if not directory.exists():
        raise NoSeedsError(directory, "the seeds directory does not exist")
    if not directory.is_dir():
        raise NoSeedsError(directory, "the seeds path is not a directory")
    root = directory.resolve()
    scan = SeedScan(files=[], stamps={}, problems=[])
    try:
        with os.scandir(directory) as listing:
            entries = sorted(
                (e for e in listing if not e.name.startswith(".")), key=lambda e: e.name
            )
    except OSError as exc:
        raise NoSeedsError(directory, f"the directory cannot be read ({exc.strerror})") from exc
    ids: dict[str, str] = {}  # article id -> the file that has it
    for entry in entries:
        is_meta = entry.name.endswith(META_SUFFIX)
        is_seed = not is_meta and Path(entry.name).suffix.casefold() in SUFFIXES
        refusal = _refusal(entry, root, follow_links)
        if refusal is None and not (is_seed or is_meta):
            refusal = f"is not a type of file I read ({READ_TYPES}); skipped"
        if refusal is None and is_seed:
            stem = Path(entry.name).stem
            if stem in ids:
                refusal = f"has the same name as {ids[stem]}; skipped (rename one of them)"
            ids.setdefault(stem, entry.name)
        if refusal is None:
            status = entry.stat()
            scan.stamps[entry.name] = (status.st_size, status.st_mtime_ns)
            if is_seed:
                scan.files.append(Path(entry.path))
        elif refusal:
            scan.problems.append(SeedFileError(Path(entry.path), refusal))
    if not scan.files:
        raise NoSeedsError(directory, f"the seeds directory has no article files ({READ_TYPES})")
    return scan


def _refusal(entry: os.DirEntry[str], root: Path, follow_links: bool) -> str | None:
    """Why an entry is not read (None: it is; "": silently, as for a directory)."""
    try:
        if entry.is_symlink() and not follow_links:
            target = Path(entry.path).resolve()
            if not target.is_relative_to(root):
                return (
                    "is a link to a file outside the seeds directory; skipped "
                    "(SEEDS_FOLLOW_LINKS=true allows it)"
                )
        status = entry.stat()  # follows the link
    except (OSError, RuntimeError) as exc:  # a dangling or looping link
        return f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
    if stat.S_ISDIR(status.st_mode):
        return ""
    if not stat.S_ISREG(status.st_mode):
        return "is not a regular file (a pipe, socket or device); skipped"
    return None


def seed_files(directory: Path) -> list[Path]:
    """The seed files of `directory`, sorted by name; raises NoSeedsError if there is none."""
    return scan_seeds(directory).files


# What is already known of a seed file that has not changed: its document, or why it could not
# be used; None means read it.
Known = Callable[[Path], "Document | SeedFileError | None"]


def load_seeds(
    directory: Path,
    *,
    follow_links: bool = False,
    scan: SeedScan | None = None,
    known: Known | None = None,
) -> LoadResult:
    """Load every seed of `directory` (as `scan` found them, if given). Broken files are
    reported, not fatal, unless all are. `known` gives what an index already holds of a file
    that has not changed, so that adding one article to thousands reads only that one."""
    scan = scan or scan_seeds(directory, follow_links=follow_links)
    result = LoadResult(documents=[], problems=list(scan.problems))
    result.documents.extend(read_seeds(scan, result.problems, known=known))
    if not result.documents:
        raise no_usable_seeds(directory, result.problems)
    return result


def read_seeds(
    scan: SeedScan, problems: list[SeedFileError], *, known: Known | None = None
) -> Iterator[Document]:
    """The documents of the scanned seed files, one at a time as each is read (so a big
    corpus can be indexed without holding every text at once); files that cannot be used
    are added to `problems`."""
    for path in scan.files:
        found = known(path) if known is not None else None
        try:
            if isinstance(found, SeedFileError):
                raise found
            document = found or _load_document(path, meta_allowed=scan.stamps)
        except SeedFileError as problem:
            problems.append(problem)
            continue
        yield document


def no_usable_seeds(directory: Path, problems: list[SeedFileError]) -> NoSeedsError:
    details = "; ".join(str(p) for p in problems)
    return NoSeedsError(directory, f"no seed file could be used: {details}")


def _load_document(path: Path, *, meta_allowed: dict[str, tuple[int, int]]) -> Document:
    meta_path = path.with_name(path.stem + META_SUFFIX)
    # Metadata is read only from a file the scan accepted (regular, not a link outside).
    meta_raw = _read_meta(meta_path) if meta_path.name in meta_allowed else b""
    return article_document(path, _read_bytes(path), meta_raw)


def article_document(
    path: Path, raw: bytes, meta_raw: bytes = b"", *, untrusted: bool = False
) -> Document:
    """The document a file's bytes make, named by `path` (its id is the file's stem), with
    the metadata file's bytes if it has one. Raises SeedFileError when it holds no article.
    `untrusted` bytes (an article being added) that need heavy parsers are read in a child
    process within a time and memory limit (corpus/ingest/isolation.py)."""
    if untrusted and needs_isolation(path, raw):
        found = extract_isolated(path, raw)
    else:
        found = extract(path, raw)
    meta = _parsed_meta(meta_raw, path.with_name(path.stem + META_SUFFIX))
    return Document(
        id=path.stem,
        # The metadata file has the last word; then what the file itself says.
        title=meta.title
        or found.title
        or headline_of(found.text)
        or title_from_file_name(path.stem),
        source=meta.source or found.site,
        author=meta.author or found.author,
        date=meta.date or found.date,
        url=meta.url or found.url,
        path=str(path),
        text=found.text,
        sha256=hashlib.sha256(raw + b"\0" + meta_raw).hexdigest(),
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return read_regular_file(path)
    except MemoryError as exc:
        raise SeedFileError(path, "is too large to read into memory") from exc


def read_regular_file(path: Path, *, limit: int | None = None) -> bytes:
    """The bytes of `path`, if it is a regular file of at most `limit` bytes; SeedFileError
    naming why not. A FIFO would block the reader for ever and a device (/dev/zero) never
    ends, so neither is read, even if swapped in after a check: the file is opened without
    waiting for a writer, and what was opened is checked before a byte is read."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise SeedFileError(path, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise SeedFileError(path, "is a folder, not a file")
        if not stat.S_ISREG(status.st_mode):
            raise SeedFileError(path, "is not a regular file (a pipe, socket or device)")
        if limit is not None and status.st_size > limit:
            raise SeedFileError(path, f"is larger than {megabytes(limit)}")
        with os.fdopen(descriptor, "rb", buffering=0, closefd=False) as handle:
            data = handle.read(-1 if limit is None else limit + 1)
    except OSError as exc:
        raise SeedFileError(path, f"cannot be read ({exc.strerror or exc})") from exc
    finally:
        os.close(descriptor)
    if limit is not None and len(data) > limit:  # it grew while being read
        raise SeedFileError(path, f"is larger than {megabytes(limit)}")
    return data


def meta_beside(path: Path) -> bytes | None:
    """The metadata file next to an article file (`<id>.meta.toml`), if it has one (a
    regular file of at most MAX_META_BYTES; anything else is ignored with a warning)."""
    meta_path = path.with_name(path.stem + META_SUFFIX)
    if not meta_path.exists():
        return None
    return _read_meta(meta_path) or None


def read_article(path: Path, *, untrusted: bool = False) -> Document:
    """One article file and its metadata, read and extracted (SeedFileError if unusable);
    `untrusted` as for `article_document`."""
    return article_document(
        path, read_regular_file(path), meta_beside(path) or b"", untrusted=untrusted
    )


def _read_meta(meta_path: Path) -> bytes:
    try:
        return read_regular_file(meta_path, limit=MAX_META_BYTES)
    except SeedFileError as exc:
        _log.warning("Ignoring metadata file %s: it %s.", meta_path, exc.problem)
        return b""


def _parsed_meta(raw: bytes, meta_path: Path) -> DocumentMeta:
    """Metadata is optional; a broken metadata file is logged and ignored, not fatal."""
    if not raw:
        return DocumentMeta()
    try:
        return DocumentMeta.model_validate(tomllib.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValidationError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _log.warning("Ignoring metadata file %s: %s", meta_path, first_line)
        return DocumentMeta()


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
