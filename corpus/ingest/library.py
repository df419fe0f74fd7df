"""Collections of articles kept in the data directory: a SQLite database and the texts.

    DATA_DIR/quotebot.db                     collections and articles' metadata (SQLite, WAL)
    DATA_DIR/texts/<sha256><suffix>          each article file as added, stored by content hash
    DATA_DIR/collections/<name>/<id><suffix> the collection as a seeds directory: a link to
                                             the stored file, and <id>.meta.toml

The collection directory is what the index is built from (corpus/indexing/store.py), so adding
an article re-reads only that article, and the index can always be rebuilt from the stored
texts. The schema is versioned (`PRAGMA user_version`) and migrated in order on open.

Several writers (the bot's threads, `add` and `feed poll` from the command line) may share one
data directory. Every change to the articles, in the database and in the folders, is made
while holding the database's write lock (one `BEGIN IMMEDIATE` transaction): the duplicate
check, the free id, the files and the row, so two writers never claim one id, and a failed add
removes only the files it made itself. A writer killed half-way (kill -9, a power cut) can
leave files without a row, or a row without its files; opening the library repairs that
(`Library.repair`), so the folders and the database always agree again.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import hashlib
import logging
import os
import re
import shutil
import sqlite3
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CorpusError, SeedFileError
from ..models import AUTHOR_CHARS, SOURCE_CHARS, TITLE_CHARS, URL_CHARS, WEB_URL, Document
from ..temporaries import is_abandoned, process_is_running, temporary_beside
from .bundled import bundled_seeds_dir
from .formats import SUFFIXES
from .loader import META_SUFFIX, article_document, meta_beside
from .sqlite import LOCK_SECONDS, SchemaTooNew, migrate, use_wal

__all__ = [
    "DEFAULT_COLLECTION",
    "Library",
    "LibraryError",
    "StorageError",
    "StoredArticle",
    "checked_name",
]

_log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "default"
# Temporaries in the data directory are named `.part-<pid>-<random>`; one whose writer still
# runs is removed only after this long (its process id may have been reused).
_TEMPORARY = "part"
_STALE_SECONDS = 3600
# Errors of os.link that mean "no hard links here", where a copy does instead.
_NO_LINKS = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

# Each entry takes the schema from version N to N + 1; never edit one that has shipped.
_MIGRATIONS = [
    """
    CREATE TABLE collections (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    CREATE TABLE articles (
        collection TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
        id TEXT NOT NULL,
        title TEXT NOT NULL,
        source TEXT,
        author TEXT,
        published TEXT,
        url TEXT,
        sha256 TEXT NOT NULL,
        suffix TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        added_at TEXT NOT NULL,
        fetched_at TEXT,
        PRIMARY KEY (collection, id),
        UNIQUE (collection, sha256)
    );
    CREATE INDEX articles_by_url ON articles(collection, url);
    """,
    # 2: RSS and Atom feeds (corpus/ingest/feeds.py), and each feed item seen, so a restart
    # goes on where it stopped and an item is fetched, and posted to a channel, once.
    """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        collection TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
        url TEXT NOT NULL,
        title TEXT,
        channel_id INTEGER,
        added_at TEXT NOT NULL,
        last_polled_at TEXT,
        next_poll_at TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        etag TEXT,
        modified TEXT,
        UNIQUE (collection, url)
    );
    CREATE INDEX feeds_by_next_poll ON feeds(next_poll_at);
    CREATE TABLE feed_items (
        feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        url TEXT NOT NULL,
        title TEXT,
        sha256 TEXT,
        article_id TEXT,
        error TEXT,
        seen_at TEXT NOT NULL,
        posted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (feed_id, url)
    );
    CREATE INDEX feed_items_unposted ON feed_items(feed_id) WHERE posted = 0;
    """,
    # 3: per-server settings: a channel pinned to one article or one set of articles.
    """
    CREATE TABLE channel_pins (
        guild_id INTEGER NOT NULL,
        channel_id INTEGER NOT NULL,
        scope TEXT NOT NULL,
        article_id TEXT,
        pinned_at TEXT NOT NULL,
        PRIMARY KEY (guild_id, channel_id)
    );
    """,
]


class LibraryError(CorpusError):
    """A collection or article that cannot be used as asked; the message says why."""


class StorageError(LibraryError):
    """The data directory could not be written (disk full, permissions, a busy database);
    nothing was changed. Not the user's input at fault, so front ends may say so."""


@dataclass(frozen=True)
class StoredArticle:
    collection: str
    id: str
    title: str
    source: str | None
    author: str | None
    published: str | None
    url: str | None
    sha256: str
    suffix: str
    bytes: int
    added_at: str
    fetched_at: str | None


@dataclass
class _Disagreements:
    """Where the folders and the database disagree: files no row accounts for (and
    temporaries whose writer is gone), and rows missing a file."""

    stray: list[Path] = field(default_factory=list)
    incomplete: list[StoredArticle] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.stray or self.incomplete)


class Library:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._database = data_dir / "quotebot.db"
        self._texts = data_dir / "texts"
        self._collections = data_dir / "collections"
        try:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._texts.mkdir(exist_ok=True)
            self._collections.mkdir(exist_ok=True)
            with self.transaction() as db:
                try:
                    migrate(db, _MIGRATIONS)
                except SchemaTooNew:
                    raise LibraryError(
                        "The data directory was written by a newer quotebot; upgrade it."
                    ) from None
        except (OSError, sqlite3.Error) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise LibraryError(
                f"The data directory {data_dir} cannot be used ({reason}). Set DATA_DIR to a "
                "folder you can write to."
            ) from None
        self.repair()

    @contextlib.contextmanager
    def transaction(self, *, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction: all of it is written, or none (the feeds' store
        uses it too, so its tables change the same way). `immediate` takes the write lock at
        once, so what is read inside stays true until the commit: another writer waits."""
        db = sqlite3.connect(self._database, timeout=LOCK_SECONDS)
        try:
            use_wal(db)
            db.execute("PRAGMA foreign_keys=ON")
            with db:  # one transaction: all of it, or nothing
                if immediate:
                    db.execute("BEGIN IMMEDIATE")
                yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _storing(self, what: str) -> Iterator[None]:
        """Turn a failure to write the data directory (disk full, permissions, a database
        locked for too long) into a StorageError that names the folder and the reason."""
        try:
            yield
        except (OSError, sqlite3.Error) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise StorageError(
                f"{what} could not be saved in the data directory {self.data_dir} ({reason}); "
                "nothing was changed."
            ) from None

    def repair(self) -> None:
        """Make the folders and the database agree again after a writer was killed half-way:
        a row missing its collection file or metadata gets them back from its stored text (or
        goes, if that is lost too); a file no row accounts for goes, and so do temporaries
        whose writer is gone. Looking costs a directory listing per collection and takes no
        lock; only when something is wrong is the write lock taken, and the look repeated
        under it, so a writer adding at this moment is never mistaken for a leftover."""
        try:
            with self.transaction() as db:
                if not self._disagreements(db, full=True):
                    return
            with self.transaction(immediate=True) as db:
                self._repair(db, self._disagreements(db, full=True))
        except (OSError, sqlite3.Error) as error:  # the library still works; say so
            _log.warning("Could not check the data directory %s (%s).", self.data_dir, error)

    def seeds_dir(self, collection: str) -> Path:
        """The collection as a directory of article files (made if new). The default
        collection starts with the bundled article, so a new user can ask straight away;
        removed, it stays removed."""
        name = checked_name(collection)
        directory = self._collections / name
        if directory.is_dir():  # made after its row: the collection is there (no write)
            return directory
        with self._storing(f"The collection “{name}”"):
            with self.transaction() as db:
                created = db.execute(
                    "INSERT OR IGNORE INTO collections VALUES (?, ?)", (name, _now())
                ).rowcount
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if created and name == DEFAULT_COLLECTION:
            self._add_bundled(name)
        return directory

    def _add_bundled(self, collection: str) -> None:
        bundled = bundled_seeds_dir()
        for path in sorted(bundled.glob("*.txt")):
            self.add(
                collection,
                path.read_bytes(),
                path.suffix,
                wanted_id=path.stem,
                meta=meta_beside(path),
            )

    def add(
        self,
        collection: str,
        body: bytes,
        suffix: str,
        *,
        wanted_id: str,
        url: str | None = None,
        fetched_at: datetime.datetime | None = None,
        meta: bytes | None = None,
        published: datetime.date | None = None,
    ) -> tuple[StoredArticle, bool]:
        """Store an article file and put it in the collection. Returns it and whether it is
        new (the same content, or the same URL, already there is not added twice). `meta`
        is a metadata file's content (a `.meta.toml` beside an added file); `published`, the
        date to record when the article itself gives none (a feed item's). Raises
        LibraryError (StorageError when the data directory cannot be written), or
        SeedFileError when the file holds no usable article; on any failure the collection
        is as it was. Safe to call from several threads and processes at once."""
        suffix = suffix.casefold()
        if suffix not in SUFFIXES:
            raise LibraryError(
                f"Files of type {suffix or '(none)'} are not read ({', '.join(SUFFIXES)})."
            )
        name = checked_name(collection)
        self.seeds_dir(name)
        digest = hashlib.sha256(body).hexdigest()
        existing = self._find(name, digest, url)  # a duplicate needs no reading
        if existing is not None:
            return existing, False
        slug = _slug(wanted_id) or "article"
        # Read before taking the lock (a long PDF must not hold up other writers); the id
        # is chosen under the lock, and the metadata file written then carries the title.
        document = _read_article(body, suffix, slug, url, meta)
        with self._storing("The article"), self.transaction(immediate=True) as db:
            existing = _found(db, name, digest, url)
            if existing is not None:  # added by another writer since the look above
                return existing, False
            self._repair(db, self._disagreements(db, collection=name))
            article = StoredArticle(
                collection=name,
                id=_free_id(db, name, slug),
                # As the metadata file may hold them (models.DocumentMeta): a value it would
                # refuse made every later read ignore the whole file, URL and all.
                title=_clipped(document.title, TITLE_CHARS) or document.id,
                source=_clipped(document.source, SOURCE_CHARS),
                author=_clipped(document.author, AUTHOR_CHARS),
                published=_iso_date(document.date or published),
                url=_citable(url) or _citable(document.url),
                sha256=digest,
                suffix=suffix,
                bytes=len(body),
                added_at=_now(),
                fetched_at=fetched_at.isoformat() if fetched_at else None,
            )
            created: list[Path] = []
            try:
                self._write_files(article, body, created)
                db.execute(
                    "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    tuple(vars(article).values()),
                )
                db.commit()
            except BaseException:
                # Still under the lock: these paths are this writer's own, as the id was free.
                _unlink_all(reversed(created))
                raise
        return article, True

    def _write_files(self, article: StoredArticle, body: bytes, created: list[Path]) -> None:
        """The stored text (if new), the metadata file and the link, each appended to
        `created` once it is in place. The metadata goes first, so that an index built
        while this runs finds the article complete or not at all."""
        stored = self._stored(article)
        if not stored.exists():
            _write_atomically(stored, body)
            created.append(stored)
        meta, link = self._collection_files(article)
        meta.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_atomically(meta, _meta_toml(article).encode())
        created.append(meta)
        _link(stored, link)
        created.append(link)

    def remove(self, collection: str, article_id: str) -> StoredArticle:
        name = checked_name(collection)
        with (
            self._storing(f"The removal of “{article_id}”"),
            self.transaction(immediate=True) as db,
        ):
            row = db.execute(
                "SELECT * FROM articles WHERE collection = ? AND id = ?", (name, article_id)
            ).fetchone()
            if row is None:
                raise LibraryError(
                    f"There is no article “{article_id}” in the collection “{name}”."
                )
            article = StoredArticle(*row)
            db.execute("DELETE FROM articles WHERE collection = ? AND id = ?", (name, article_id))
            # The stored text stays while another collection still holds it.
            still = db.execute(
                "SELECT 1 FROM articles WHERE sha256 = ? AND suffix = ?",
                (article.sha256, article.suffix),
            ).fetchone()
            # Unlinked under the lock, before the commit: a writer killed here leaves a row
            # that the next repair completes again, or drops if its stored text is gone.
            _unlink_all(
                [*self._collection_files(article), *([] if still else [self._stored(article)])]
            )
        return article

    def drop_collection(self, collection: str, *, guild_id: int | None = None) -> int:
        """Delete a collection whole: its articles (each stored text too, unless another
        collection holds it), its feeds and their items, and with `guild_id`, that server's
        channel pins. How many articles went."""
        name = checked_name(collection)
        with (
            self._storing(f"Deleting the collection “{name}”"),
            self.transaction(immediate=True) as db,
        ):
            articles = [
                StoredArticle(*row)
                for row in db.execute("SELECT * FROM articles WHERE collection = ?", (name,))
            ]
            db.execute("DELETE FROM feeds WHERE collection = ?", (name,))  # and their items
            db.execute("DELETE FROM articles WHERE collection = ?", (name,))
            db.execute("DELETE FROM collections WHERE name = ?", (name,))
            if guild_id is not None:
                db.execute("DELETE FROM channel_pins WHERE guild_id = ?", (guild_id,))
            unheld = [
                self._stored(article)
                for article in articles
                if not db.execute(
                    "SELECT 1 FROM articles WHERE sha256 = ? AND suffix = ?",
                    (article.sha256, article.suffix),
                ).fetchone()
            ]
            _unlink_all(unheld)
            shutil.rmtree(self._collections / name, ignore_errors=True)
        return len(articles)

    def articles(self, collection: str) -> list[StoredArticle]:
        with self.transaction() as db:
            rows = db.execute(
                "SELECT * FROM articles WHERE collection = ? ORDER BY added_at, id",
                (checked_name(collection),),
            ).fetchall()
        return [StoredArticle(*row) for row in rows]

    def collections(self) -> list[str]:
        with self.transaction() as db:
            return [row[0] for row in db.execute("SELECT name FROM collections ORDER BY name")]

    # Channel pins: a channel that answers from one article, or one set of articles ("scope"
    # is the front end's name for the set, such as a server's own or the shared one).

    def pin(self, guild_id: int, channel_id: int, scope: str, article_id: str | None) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO channel_pins VALUES (?, ?, ?, ?, ?)",
                (guild_id, channel_id, scope, article_id, _now()),
            )

    def unpin(self, guild_id: int, channel_id: int) -> bool:
        with self.transaction() as db:
            gone = db.execute(
                "DELETE FROM channel_pins WHERE guild_id = ? AND channel_id = ?",
                (guild_id, channel_id),
            )
            return gone.rowcount > 0

    def pins(self) -> dict[tuple[int, int], tuple[str, str | None]]:
        """(guild, channel) → (scope, article id or None for the whole set)."""
        with self.transaction() as db:
            rows = db.execute("SELECT guild_id, channel_id, scope, article_id FROM channel_pins")
            return {(g, c): (scope, article) for g, c, scope, article in rows}

    def _find(self, collection: str, digest: str, url: str | None) -> StoredArticle | None:
        with self.transaction() as db:
            return _found(db, collection, digest, url)

    # Where each article's files are

    def _stored(self, article: StoredArticle) -> Path:
        return self._texts / _stored_name(article)

    def _collection_files(self, article: StoredArticle) -> tuple[Path, Path]:
        """The metadata file and the link to the stored text, in the collection's folder."""
        directory = self._collections / article.collection
        meta, link = _collection_names(article)
        return directory / meta, directory / link

    # Repairs after a killed writer

    def _disagreements(
        self, db: sqlite3.Connection, *, full: bool = False, collection: str | None = None
    ) -> _Disagreements:
        """What disagrees in one collection's folder, or (`full`) in every collection's and
        in the stored texts. Names are compared as strings: a library of thousands of
        articles is looked over in milliseconds."""
        query, values = "SELECT * FROM articles", ()
        if not full:
            query, values = query + " WHERE collection = ?", (collection,)
        rows = [StoredArticle(*row) for row in db.execute(query, values)]
        wanted: dict[str, dict[str, StoredArticle]] = {}
        for article in rows:
            files = wanted.setdefault(article.collection, {})
            files.update(dict.fromkeys(_collection_names(article), article))
        folders = set(_listing(self._collections)) if full else {str(collection)}
        found = _Disagreements()
        incomplete: dict[tuple[str, str], StoredArticle] = {}
        for name in sorted(folders | set(wanted)):
            files = wanted.get(name, {})
            present = set(_listing(self._collections / name))
            found.stray.extend(_strays(self._collections / name, present, files))
            for article in (a for file_name, a in files.items() if file_name not in present):
                incomplete[(article.collection, article.id)] = article
        if full:
            used = {_stored_name(a): a for a in rows}
            present = set(_listing(self._texts))
            found.stray.extend(_strays(self._texts, present, used))
            for article in (a for file_name, a in used.items() if file_name not in present):
                incomplete[(article.collection, article.id)] = article
        found.incomplete = list(incomplete.values())
        return found

    def _repair(self, db: sqlite3.Connection, found: _Disagreements) -> None:
        """Apply `found`; the caller holds the write lock, so no writer is half-way now."""
        if not found:
            return
        _log.warning(
            "The data directory %s was left half-changed (a writer was stopped); repairing "
            "%d file(s) and %d article(s).",
            self.data_dir,
            len(found.stray),
            len(found.incomplete),
        )
        _unlink_all(found.stray)
        for article in found.incomplete:
            self._complete(db, article)

    def _complete(self, db: sqlite3.Connection, article: StoredArticle) -> None:
        """Give an article back its missing files, from its stored text (or the text from
        its link); with neither left, the article is gone, and so is its row."""
        stored = self._stored(article)
        meta, link = self._collection_files(article)
        if not stored.exists() and link.exists():
            _link(link, stored)
        if not stored.exists():
            _log.warning(
                "The article %s/%s lost its text; removing it.", article.collection, article.id
            )
            db.execute(
                "DELETE FROM articles WHERE collection = ? AND id = ?",
                (article.collection, article.id),
            )
            _unlink_all([meta, link])
            return
        meta.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not meta.exists():
            _write_atomically(meta, _meta_toml(article).encode())
        if not link.exists():
            _link(stored, link)


def _found(
    db: sqlite3.Connection, collection: str, digest: str, url: str | None
) -> StoredArticle | None:
    """The article of the collection with this content, or from this URL."""
    row = db.execute(
        "SELECT * FROM articles WHERE collection = ? AND (sha256 = ? OR url = ?) "
        "ORDER BY added_at, id LIMIT 1",
        (collection, digest, url),
    ).fetchone()
    return StoredArticle(*row) if row is not None else None


def _free_id(db: sqlite3.Connection, collection: str, wanted: str) -> str:
    taken = {
        row[0] for row in db.execute("SELECT id FROM articles WHERE collection = ?", (collection,))
    }
    candidate, n = wanted, 2
    while candidate in taken:
        candidate, n = f"{wanted}-{n}", n + 1
    return candidate


def _stored_name(article: StoredArticle) -> str:
    return f"{article.sha256}{article.suffix}"


def _collection_names(article: StoredArticle) -> tuple[str, str]:
    """The names of its metadata file and of its link, in its collection's folder."""
    return f"{article.id}{META_SUFFIX}", f"{article.id}{article.suffix}"


def _strays(directory: Path, present: set[str], wanted: dict[str, object]) -> Iterator[Path]:
    """Files of `directory` not `wanted`, and temporaries whose writer is gone (one being
    written now stays)."""
    for name in present.difference(wanted):
        path = directory / name
        if name.startswith("."):
            if is_abandoned(path, _TEMPORARY, stale_seconds=_STALE_SECONDS) or _old_leftover(name):
                yield path
        elif not path.is_dir():
            yield path


def _old_leftover(name: str) -> bool:
    """A temporary of an earlier version (`.<name>.<pid>`) whose writer is gone."""
    pid = name.rpartition(".")[2]
    return pid.isdigit() and not process_is_running(int(pid))


def _listing(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _unlink_all(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


_CITABLE_URL = re.compile(WEB_URL)


def _citable(url: str | None) -> str | None:
    """The URL as a metadata file may hold it (models.DocumentMeta: http or https, here with
    the scheme in lower case), or None: one it would refuse is not kept."""
    if not url:
        return None
    scheme, separator, rest = url.partition("://")
    url = scheme.casefold() + separator + rest
    return url if len(url) <= URL_CHARS and _CITABLE_URL.fullmatch(url) else None


def _clipped(text: str | None, limit: int) -> str | None:
    return text[: limit - 1].rstrip() + "…" if text and len(text) > limit else text


def _read_article(
    body: bytes, suffix: str, article_id: str, url: str | None, meta: bytes | None
) -> Document:
    """The article as the index will read it; LibraryError naming why it is no article."""
    try:
        return article_document(Path(f"{article_id}{suffix}"), body, meta or b"", untrusted=True)
    except SeedFileError as error:
        raise LibraryError(f"Not added: {url or 'the file'} {error.problem}.") from None


def checked_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise LibraryError(
            f"“{name[:40]}” is not a collection name: use up to 64 lower-case letters, digits, "
            "- and _."
        )
    return name


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.casefold())
    return "-".join(words)[:60].strip("-")


def _link(stored: Path, link: Path) -> None:
    """A hard link to the stored file (a copy where links cannot be made), put in place
    atomically under a temporary name only this writer holds."""
    temporary = temporary_beside(link, _TEMPORARY)
    try:
        try:
            os.link(stored, temporary)
        except OSError as error:
            if error.errno not in _NO_LINKS:
                raise
            shutil.copyfile(stored, temporary)
        os.replace(temporary, link)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = temporary_beside(path, _TEMPORARY)
    try:
        with open(temporary, "xb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _meta_toml(article: StoredArticle) -> str:
    lines = [f"title = {_toml(article.title)}"]
    for key, value in (
        ("source", article.source),
        ("author", article.author),
        ("url", article.url),
    ):
        if value:
            lines.append(f"{key} = {_toml(value)}")
    if article.published:
        lines.append(f"date = {article.published}")
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # what is written must read back
    return text


def _toml(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _iso_date(date: datetime.date | None) -> str | None:
    return date.isoformat() if date else None
