"""Collections of articles kept in the data directory: a database and the texts.

    DATA_DIR/quotebot.db                     collections and articles' metadata (SQLite, WAL),
                                             or PostgreSQL when DATABASE_URL names one
    DATA_DIR/texts/<sha256><suffix>          each article file as added, stored by content hash
    DATA_DIR/collections/<name>/<id><suffix> the collection as a seeds directory: a link to
                                             the stored file, and <id>.meta.toml

With PostgreSQL (several processes, on several machines), the database is the truth: it holds
each text too (table `texts`, by SHA-256), and each machine's folders are its own copy of the
collections it uses, brought up to date from the database whenever one is opened
(`seeds_dir`), so any machine can build any collection's index. Every change is logged
(`library_changes`) so that the process answering for a collection learns of a change made
elsewhere (`changes_since`) and swaps its index.

The collection directory is what the index is built from (corpus/indexing/store.py), so adding
an article re-reads only that article, and the index can always be rebuilt from the stored
texts. The schema is versioned (SQLite's `PRAGMA user_version`, PostgreSQL's `quotebot_schema`
row) and migrated in order on open.

Several writers (the bot's threads, `add` and `feed poll` from the command line, other bot
processes) may share one data directory and database. Every change to the articles, in the
database and in the folders, is made while holding the library's write lock (SQLite's, or
PostgreSQL's advisory lock, for one transaction: corpus/sources/database.py): the duplicate
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
import threading
import tomllib
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ..errors import CorpusError, SeedFileError
from ..ingest.bundled import bundled_seeds_dir
from ..ingest.formats import SUFFIXES
from ..ingest.loader import META_SUFFIX, article_document, meta_beside
from ..models import AUTHOR_CHARS, SOURCE_CHARS, TITLE_CHARS, URL_CHARS, WEB_URL, Document
from ..temporaries import is_abandoned, process_is_running, temporary_beside
from .database import DatabaseError, Db, open_backend
from .sqlite import SchemaTooNew

__all__ = [
    "DEFAULT_COLLECTION",
    "LIBRARY_FILE",
    "MIGRATIONS",
    "Change",
    "Library",
    "LibraryError",
    "StorageError",
    "StoredArticle",
    "checked_name",
]

_log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_COLLECTION = "default"
# The library's SQLite file in the data directory (with PostgreSQL, the database instead).
LIBRARY_FILE = "quotebot.db"
# Temporaries in the data directory are named `.part-<pid>-<random>`; one whose writer still
# runs is removed only after this long (its process id may have been reused).
_TEMPORARY = "part"
_STALE_SECONDS = 3600
# Errors of os.link that mean "no hard links here", where a copy does instead.
_NO_LINKS = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

# Each entry takes the schema from version N to N + 1; never edit one that has shipped.
MIGRATIONS = [
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
    # 2: RSS and Atom feeds (corpus/sources/feeds.py), and each feed item seen, so a restart
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
    # 4: several processes sharing one database. The texts themselves (used where the
    # database is PostgreSQL: any machine can build any collection's index); a log of
    # changes, so the process answering for a collection learns of one made elsewhere; and a
    # lease on each feed item being posted, so a process that dies while posting leaves its
    # item to another once the lease runs out, rather than losing it.
    """
    CREATE TABLE texts (
        sha256 TEXT NOT NULL,
        suffix TEXT NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (sha256, suffix)
    );
    CREATE TABLE library_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        collection TEXT NOT NULL,
        origin TEXT NOT NULL,
        changed_at TEXT NOT NULL
    );
    ALTER TABLE feed_items ADD COLUMN posting_until TEXT;
    """,
]
# The changes remembered (older ones are deleted as new ones come): a process that fell
# further behind than this reopens every collection it holds.
_CHANGES_KEPT = 10_000


class LibraryError(CorpusError):
    """A collection or article that cannot be used as asked; the message says why."""


class StorageError(LibraryError, DatabaseError):
    """The data directory or the database could not be written (disk full, permissions, a
    busy or unreachable database); nothing was changed. Not the user's input at fault, so
    front ends may say so."""


@dataclass(frozen=True)
class Change:
    """A collection changed by another process (or another Library): its articles were
    added, removed, or the whole collection dropped."""

    number: int
    collection: str


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
    def __init__(self, data_dir: Path, *, database_url: str | None = None) -> None:
        """The library in `data_dir`, its database there (SQLite) or `database_url`'s
        PostgreSQL, shared with other processes; the folders are then this machine's copy."""
        self.data_dir = data_dir
        self._texts = data_dir / "texts"
        self._collections = data_dir / "collections"
        # This Library's own changes are not news to it (changes_since leaves them out).
        self.origin = uuid.uuid4().hex
        # One writer of this machine's folders at a time in this process: a copy brought up
        # to date must not take an article being added for a leftover.
        self._folders = threading.RLock()
        self._backend = None
        try:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._texts.mkdir(exist_ok=True)
            self._collections.mkdir(exist_ok=True)
            self._backend = open_backend(
                path=data_dir / LIBRARY_FILE,
                database_url=database_url,
                store="library",
                subject="The library",
                error=StorageError,
                pool_size=8,
            )
            try:
                self._backend.migrate(MIGRATIONS)
            except SchemaTooNew:
                raise LibraryError(
                    f"The library in {self._backend.where} was written by a newer quotebot; "
                    "upgrade it."
                ) from None
        except (OSError, DatabaseError) as error:
            if self._backend is not None:
                self._backend.close()
            if type(error) is LibraryError:  # written by a newer quotebot
                raise
            if database_url:
                raise LibraryError(f"{error} Set DATABASE_URL to a database you can use.") from None
            reason = getattr(error, "strerror", None) or str(error)
            reason = reason.removeprefix("The library could not be used (").rstrip(").")
            raise LibraryError(
                f"The data directory {data_dir} cannot be used ({reason}). Set DATA_DIR to a "
                "folder you can write to."
            ) from None
        self.shared = self._backend.shared
        self.where = self._backend.where
        self.repair()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()

    def reading(self) -> contextlib.AbstractContextManager[Db]:
        """A connection for reading (each statement sees what is committed)."""
        assert self._backend is not None
        return self._backend.reading()

    def transaction(
        self, *, deleting: Sequence[str] = (), undo: Callable[[], None] | None = None
    ) -> contextlib.AbstractContextManager[Db]:
        """A connection in one transaction holding the library's write lock: all of it is
        written, or none, and what is read inside stays true until the commit (the feeds'
        store uses it too, so its tables change the same way). On failure `undo` runs, to
        take back what was done outside the database; `deleting` names tables rows are
        deleted from, whose old bytes go after the commit."""
        assert self._backend is not None
        return self._backend.transaction(deleting=deleting, undo=undo)

    @contextlib.contextmanager
    def _storing(self, what: str) -> Iterator[None]:
        """Turn a failure to write the data directory (disk full, permissions, a database
        locked for too long or unreachable) into a StorageError that names the folder and
        the reason."""
        try:
            yield
        except (OSError, DatabaseError) as error:
            if isinstance(error, LibraryError):
                raise
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
        under it, so a writer adding at this moment is never mistaken for a leftover. With
        a shared database, the folders are a copy: each collection this machine holds is
        brought up to date, and other collections are left for when they are opened."""
        try:
            if self.shared:
                self.catch_up(_listing(self._collections))
                self._forget_stray_texts()
                return
            self._mend(lambda db: self._disagreements(db, full=True), self._repair)
        except (OSError, DatabaseError) as error:  # the library still works; say so
            _log.warning("Could not check the data directory %s (%s).", self.data_dir, error)

    def seeds_dir(self, collection: str) -> Path:
        """The collection as a directory of article files (made if new; with a shared
        database, brought up to date from it). The default collection starts with the
        bundled article, so a new user can ask straight away; removed, it stays removed."""
        name = checked_name(collection)
        directory = self._collections / name
        if directory.is_dir() and not self.shared:  # made after its row: it is there
            return directory
        if self._ensure_collection(name) and self.shared:
            self._copy_collection(name)
        return directory

    def _ensure_collection(self, name: str) -> bool:
        """The collection's row and folder, made now if new; True when it was there already."""
        with self._storing(f"The collection “{name}”"):
            with self.reading() as db:
                known = db.execute("SELECT 1 FROM collections WHERE name = ?", (name,)).fetchone()
            created = 0 if known else self._create(name)
            (self._collections / name).mkdir(mode=0o700, parents=True, exist_ok=True)
        return not created

    def _create(self, name: str) -> int:
        """The collection's row (1: made now, 0: another writer made it first). The default
        one is made with the bundled article in the same transaction: a process opening it
        meanwhile finds both, or neither (then waits for the write lock, and finds both)."""
        bundled = (
            [
                (path.read_bytes(), path.suffix, path.stem, meta_beside(path))
                for path in sorted(bundled_seeds_dir().glob("*.txt"))
            ]
            if name == DEFAULT_COLLECTION
            else []
        )
        written: list[Path] = []
        with self._folders, self.transaction(undo=lambda: _unlink_all(reversed(written))) as db:
            created = db.execute(
                "INSERT INTO collections (name, created_at) VALUES (?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (name, _now()),
            ).rowcount
            (self._collections / name).mkdir(mode=0o700, parents=True, exist_ok=True)
            if created:
                for body, suffix, stem, meta in bundled:
                    slug = _slug(stem) or "article"
                    document = _read_article(body, suffix, slug, None, meta)
                    digest = hashlib.sha256(body).hexdigest()
                    self._store(
                        db, name, body, digest, suffix, document, slug=slug, written=written
                    )
        return created

    def _copy_collection(self, name: str) -> None:
        """This machine's copy of a collection made to agree with the shared database. As a
        repair: looked at without a lock, and only when something differs is it looked at
        again and changed under the write lock, which every writer of the folders holds (an
        article being added, here or by another process sharing this data directory, is
        never taken for a leftover, nor one being removed copied back)."""
        with self._storing(f"The collection “{name}”"):
            self._mend(lambda db: self._disagreements(db, collection=name), self._repair)

    def catch_up(self, collections: Iterable[str]) -> None:
        """With a shared database: this machine's copies of these collections (those it has
        a folder for) made to agree with it, after another process changed them; an
        article removed there goes from here too, its stored text with it unless another
        article holds it. With SQLite, the folders are the library's own, always up to
        date: nothing to do."""
        if not self.shared:
            return
        for name in collections:
            if _NAME.fullmatch(name) and (self._collections / name).is_dir():
                self._copy_collection(name)

    def _forget_stray_texts(self) -> None:
        """Stored texts of this machine's copy that no article of any collection holds."""

        def strays(db: Db) -> list[Path]:
            held = {
                f"{digest}{suffix}"
                for digest, suffix in db.execute("SELECT DISTINCT sha256, suffix FROM articles")
            }
            return list(_strays(self._texts, set(_listing(self._texts)), held))

        with self._storing("The stored texts"):
            self._mend(strays, lambda db, found: _unlink_all(found))

    def _mend(self, look: Callable[[Db], T], mend: Callable[[Db, T], None]) -> None:
        """Look without a lock; only when something is wrong, take the write lock, which
        every writer of the folders holds, look again (a writer half-way a moment ago is
        done now, and what it did is no leftover) and mend what is found then."""
        with self.reading() as db:
            if not look(db):
                return
        with self._folders, self.transaction() as db:
            mend(db, look(db))

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
        self._ensure_collection(name)  # its copy is brought up to date under the lock, below
        digest = hashlib.sha256(body).hexdigest()
        existing = self._find(name, digest, url)  # a duplicate needs no reading
        if existing is not None:
            return existing, False
        slug = _slug(wanted_id) or "article"
        # Read before taking the lock (a long PDF must not hold up other writers); the id
        # is chosen under the lock, and the metadata file written then carries the title.
        document = _read_article(body, suffix, slug, url, meta)
        written: list[Path] = []
        # A failure, the commit's too, takes the files written with it, under the lock.
        undo = lambda: _unlink_all(reversed(written))  # noqa: E731
        with self._storing("The article"), self._folders, self.transaction(undo=undo) as db:
            existing = _found(db, name, digest, url)
            if existing is not None:  # added by another writer since the look above
                return existing, False
            self._repair(db, self._disagreements(db, collection=name))
            article = self._store(
                db,
                name,
                body,
                digest,
                suffix,
                document,
                slug=slug,
                url=url,
                fetched_at=fetched_at,
                published=published,
                written=written,
            )
        return article, True

    def _store(
        self,
        db: Db,
        name: str,
        body: bytes,
        digest: str,
        suffix: str,
        document: Document,
        *,
        slug: str,
        written: list[Path],
        url: str | None = None,
        fetched_at: datetime.datetime | None = None,
        published: datetime.date | None = None,
    ) -> StoredArticle:
        """The article's files and rows, in the caller's transaction (holding the write
        lock, so the id is free). Each file is appended to `written` once in place: the
        transaction's undo removes them if it fails."""
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
        self._write_files(article, body, written)
        db.execute(
            f"INSERT INTO articles ({_ARTICLE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            tuple(vars(article).values()),
        )
        if self.shared:
            db.execute(
                "INSERT INTO texts (sha256, suffix, body) VALUES (?, ?, ?) "
                "ON CONFLICT (sha256, suffix) DO NOTHING",
                (article.sha256, suffix, body),
            )
        self._log_change(db, name)
        return article

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
            self._folders,
            self.transaction(deleting=_ARTICLE_TABLES) as db,
        ):
            row = db.execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE collection = ? AND id = ?",
                (name, article_id),
            ).fetchone()
            if row is None:
                raise LibraryError(
                    f"There is no article “{article_id}” in the collection “{name}”."
                )
            article = StoredArticle(*row)
            db.execute("DELETE FROM articles WHERE collection = ? AND id = ?", (name, article_id))
            unheld = self._forget_unheld_texts(db, [article])
            self._log_change(db, name)
            # Unlinked under the lock, before the commit: a writer killed here leaves a row
            # that the next repair completes again, or drops if its stored text is gone.
            _unlink_all([*self._collection_files(article), *unheld])
        return article

    def drop_collection(self, collection: str, *, guild_id: int | None = None) -> int:
        """Delete a collection whole: its articles (each stored text too, unless another
        collection holds it), its feeds and their items, and with `guild_id`, that server's
        channel pins. How many articles went."""
        name = checked_name(collection)
        with (
            self._storing(f"Deleting the collection “{name}”"),
            self._folders,
            self.transaction(deleting=_ARTICLE_TABLES) as db,
        ):
            articles = [
                StoredArticle(*row)
                for row in db.execute(
                    f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE collection = ?", (name,)
                )
            ]
            db.execute("DELETE FROM feeds WHERE collection = ?", (name,))  # and their items
            db.execute("DELETE FROM articles WHERE collection = ?", (name,))
            db.execute("DELETE FROM collections WHERE name = ?", (name,))
            if guild_id is not None:
                db.execute("DELETE FROM channel_pins WHERE guild_id = ?", (guild_id,))
            unheld = self._forget_unheld_texts(db, articles)
            self._log_change(db, name)
            _unlink_all(unheld)
            shutil.rmtree(self._collections / name, ignore_errors=True)
        return len(articles)

    def _forget_unheld_texts(self, db: Db, gone: list[StoredArticle]) -> list[Path]:
        """The stored texts of `gone` articles that no collection holds any more (deleted
        from the shared database here), for the caller to unlink."""
        unheld = []
        for article in gone:
            if _held(db, article.sha256, article.suffix):
                continue
            unheld.append(self._stored(article))
            if self.shared:
                db.execute(
                    "DELETE FROM texts WHERE sha256 = ? AND suffix = ?",
                    (article.sha256, article.suffix),
                )
        return unheld

    def articles(self, collection: str) -> list[StoredArticle]:
        with self.reading() as db:
            rows = db.execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE collection = ? "
                "ORDER BY added_at, id",
                (checked_name(collection),),
            ).fetchall()
        return [StoredArticle(*row) for row in rows]

    def collections(self) -> list[str]:
        with self.reading() as db:
            return [row[0] for row in db.execute("SELECT name FROM collections ORDER BY name")]

    # Changes, as other processes learn of them

    def _log_change(self, db: Db, collection: str) -> None:
        (number,) = db.execute(
            "INSERT INTO library_changes (collection, origin, changed_at) VALUES (?, ?, ?) "
            "RETURNING id",
            (collection, self.origin, _now()),
        ).fetchone()
        if number % 100 == 0:  # now and then, the oldest go
            db.execute("DELETE FROM library_changes WHERE id <= ?", (number - _CHANGES_KEPT,))

    def last_change(self) -> int:
        """The number of the latest change to any collection (0: none yet)."""
        with self.reading() as db:
            (number,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM library_changes").fetchone()
        return int(number)

    def changes_since(self, number: int) -> tuple[int, list[Change] | None]:
        """Changes after change `number` made by other processes (or other Library objects),
        one per collection, and the number to ask from next time. None instead of the list
        when changes that old are forgotten: the caller should reopen all it holds."""
        with self.reading() as db:
            rows = db.execute(
                "SELECT id, collection, origin FROM library_changes WHERE id > ? ORDER BY id",
                (number,),
            ).fetchall()
            if rows and rows[0][0] > number + 1:
                (oldest,) = db.execute("SELECT MIN(id) FROM library_changes").fetchone()
                if oldest > number + 1:
                    return rows[-1][0], None
        latest: dict[str, Change] = {}
        for change_id, collection, origin in rows:
            if origin != self.origin:
                latest.pop(collection, None)
                latest[collection] = Change(change_id, collection)
        return (rows[-1][0] if rows else number), list(latest.values())

    # Channel pins: a channel that answers from one article, or one set of articles ("scope"
    # is the front end's name for the set, such as a server's own or the shared one).

    def pin(self, guild_id: int, channel_id: int, scope: str, article_id: str | None) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO channel_pins (guild_id, channel_id, scope, article_id, pinned_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, channel_id) DO UPDATE SET "
                "scope = excluded.scope, article_id = excluded.article_id, "
                "pinned_at = excluded.pinned_at",
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
        with self.reading() as db:
            rows = db.execute("SELECT guild_id, channel_id, scope, article_id FROM channel_pins")
            return {(g, c): (scope, article) for g, c, scope, article in rows}

    def _find(self, collection: str, digest: str, url: str | None) -> StoredArticle | None:
        with self.reading() as db:
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
        self, db: Db, *, full: bool = False, collection: str | None = None
    ) -> _Disagreements:
        """What disagrees in one collection's folder, or (`full`) in every collection's and
        in the stored texts. Names are compared as strings: a library of thousands of
        articles is looked over in milliseconds."""
        query, values = f"SELECT {_ARTICLE_COLUMNS} FROM articles", ()
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

    def _repair(self, db: Db, found: _Disagreements) -> None:
        """Apply `found`; the caller holds the write lock, so no writer is half-way now."""
        if not found:
            return
        if self.shared:  # a copy catching up, not a repair
            _log.info(
                "Bringing %s up to date: %d file(s) gone, %d article(s) copied.",
                self.data_dir,
                len(found.stray),
                len(found.incomplete),
            )
        else:
            _log.warning(
                "The data directory %s was left half-changed (a writer was stopped); "
                "repairing %d file(s) and %d article(s).",
                self.data_dir,
                len(found.stray),
                len(found.incomplete),
            )
        unheld = self._texts_of_removed(db, found.stray) if self.shared else []
        _unlink_all([*found.stray, *unheld])
        for article in found.incomplete:
            self._complete(db, article)

    def _texts_of_removed(self, db: Db, strays: list[Path]) -> list[Path]:
        """With a shared database, the stored texts of the article files among `strays`
        (articles another process removed) that no article holds any more."""
        unheld = []
        for path in strays:
            if path.parent == self._texts or path.name.endswith(META_SUFFIX):
                continue
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                continue
            suffix = path.suffix.casefold()
            if not _held(db, digest, suffix):
                unheld.append(self._texts / f"{digest}{suffix}")
        return unheld

    def _complete(self, db: Db, article: StoredArticle) -> None:
        """Give an article back its missing files, from its stored text (or the text from
        its link, or with a shared database the text it holds); with none left, the article
        is gone, and so is its row."""
        stored = self._stored(article)
        meta, link = self._collection_files(article)
        if not stored.exists() and link.exists():
            _link(link, stored)
        if not stored.exists() and self.shared:
            row = db.execute(
                "SELECT body FROM texts WHERE sha256 = ? AND suffix = ?",
                (article.sha256, article.suffix),
            ).fetchone()
            if row is not None:
                _write_atomically(stored, bytes(row[0]))
        if not stored.exists():
            if self.shared:  # another writer's, still half-way, or a text lost for good
                _log.warning("The article %s/%s has no text.", article.collection, article.id)
                return
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


# Where a removed article's words are: vacuumed (PostgreSQL) or checkpointed out of the log
# (SQLite) after a removal, as members' data is.
_ARTICLE_TABLES = ("articles", "texts", "feed_items")
_ARTICLE_COLUMNS = (
    "collection, id, title, source, author, published, url, sha256, suffix, bytes, "
    "added_at, fetched_at"
)


def _found(db: Db, collection: str, digest: str, url: str | None) -> StoredArticle | None:
    """The article of the collection with this content, or from this URL."""
    row = db.execute(
        f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE collection = ? "
        "AND (sha256 = ? OR url = ?) ORDER BY added_at, id LIMIT 1",
        (collection, digest, url),
    ).fetchone()
    return StoredArticle(*row) if row is not None else None


def _held(db: Db, digest: str, suffix: str) -> bool:
    """Whether an article of any collection holds this stored text."""
    row = db.execute(
        "SELECT 1 FROM articles WHERE sha256 = ? AND suffix = ? LIMIT 1", (digest, suffix)
    ).fetchone()
    return row is not None


def _free_id(db: Db, collection: str, wanted: str) -> str:
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


def _strays(directory: Path, present: set[str], wanted: Iterable[str]) -> Iterator[Path]:
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
