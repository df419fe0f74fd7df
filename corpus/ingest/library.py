"""Collections of articles kept in the data directory: a SQLite database and the texts.

    DATA_DIR/quotebot.db                     collections and articles' metadata (SQLite, WAL)
    DATA_DIR/texts/<sha256><suffix>          each article file as added, stored by content hash
    DATA_DIR/collections/<name>/<id><suffix> the collection as a seeds directory: a link to
                                             the stored file, and <id>.meta.toml

The collection directory is what the index is built from (corpus/indexing/store.py), so adding
an article re-reads only that article, and the index can always be rebuilt from the stored
texts. The schema is versioned (`PRAGMA user_version`) and migrated in order on open.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import re
import shutil
import sqlite3
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import CorpusError, SeedFileError
from ..models import Document
from .bundled import bundled_seeds_dir
from .formats import SUFFIXES
from .loader import META_SUFFIX, article_document, meta_beside

__all__ = ["DEFAULT_COLLECTION", "Library", "LibraryError", "StoredArticle", "checked_name"]

DEFAULT_COLLECTION = "default"
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


class Library:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._database = data_dir / "quotebot.db"
        try:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            (data_dir / "texts").mkdir(exist_ok=True)
            (data_dir / "collections").mkdir(exist_ok=True)
            with self.transaction() as db:
                _migrate(db)
        except (OSError, sqlite3.Error) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise LibraryError(
                f"The data directory {data_dir} cannot be used ({reason}). Set DATA_DIR to a "
                "folder you can write to."
            ) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction: all of it is written, or none (the feeds' store
        uses it too, so its tables change the same way)."""
        db = sqlite3.connect(self._database, timeout=10)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            with db:  # one transaction: all of it, or nothing
                yield db
        finally:
            db.close()

    def seeds_dir(self, collection: str) -> Path:
        """The collection as a directory of article files (made if new). The default
        collection starts with the bundled article, so a new user can ask straight away;
        removed, it stays removed."""
        name = checked_name(collection)
        directory = self.data_dir / "collections" / name
        if directory.is_dir():  # made after its row: the collection is there (no write)
            return directory
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
    ) -> tuple[StoredArticle, bool]:
        """Store an article file and put it in the collection. Returns it and whether it is
        new (the same content, or the same URL, already there is not added twice). `meta`
        is a metadata file's content (a `.meta.toml` beside an added file). Raises
        LibraryError, or SeedFileError when the file holds no usable article; on any
        failure the collection is as it was."""
        suffix = suffix.casefold()
        if suffix not in SUFFIXES:
            raise LibraryError(
                f"Files of type {suffix or '(none)'} are not read ({', '.join(SUFFIXES)})."
            )
        directory = self.seeds_dir(collection)
        digest = hashlib.sha256(body).hexdigest()
        existing = self._find(collection, digest, url)
        if existing is not None:
            return existing, False
        article_id = self._free_id(collection, _slug(wanted_id) or "article")
        document = _read_article(body, suffix, article_id, url, meta)
        stored = self.data_dir / "texts" / f"{digest}{suffix}"
        if not stored.exists():
            _write_atomically(stored, body)
        article = StoredArticle(
            collection=checked_name(collection),
            id=article_id,
            title=document.title,
            source=document.source,
            author=document.author,
            published=document.date.isoformat() if document.date else None,
            url=url or document.url,
            sha256=digest,
            suffix=suffix,
            bytes=len(body),
            added_at=_now(),
            fetched_at=fetched_at.isoformat() if fetched_at else None,
        )
        link = directory / f"{article_id}{suffix}"
        meta = directory / f"{article_id}{META_SUFFIX}"
        try:
            with self.transaction() as db:
                db.execute(
                    "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    tuple(vars(article).values()),
                )
                _link(stored, link)
                _write_atomically(meta, _meta_toml(article).encode())
        except BaseException:
            for leftover in (link, meta):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            raise
        return article, True

    def remove(self, collection: str, article_id: str) -> StoredArticle:
        name = checked_name(collection)
        found = [a for a in self.articles(name) if a.id == article_id]
        if not found:
            raise LibraryError(f"There is no article “{article_id}” in the collection “{name}”.")
        (article,) = found
        directory = self.data_dir / "collections" / name
        with self.transaction() as db:
            db.execute("DELETE FROM articles WHERE collection = ? AND id = ?", (name, article_id))
            for leftover in (
                directory / f"{article_id}{article.suffix}",
                directory / f"{article_id}{META_SUFFIX}",
            ):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
        # The stored text stays while another collection still holds it.
        with self.transaction() as db:
            still = db.execute("SELECT 1 FROM articles WHERE sha256 = ?", (article.sha256,))
            if still.fetchone() is None:
                with contextlib.suppress(FileNotFoundError):
                    (self.data_dir / "texts" / f"{article.sha256}{article.suffix}").unlink()
        return article

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
        for article in self.articles(collection):
            if article.sha256 == digest or (url is not None and article.url == url):
                return article
        return None

    def _free_id(self, collection: str, wanted: str) -> str:
        taken = {a.id for a in self.articles(collection)}
        candidate, n = wanted, 2
        while candidate in taken:
            candidate, n = f"{wanted}-{n}", n + 1
        return candidate


def _migrate(db: sqlite3.Connection) -> None:
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version > len(_MIGRATIONS):
        raise LibraryError("The data directory was written by a newer quotebot; upgrade it.")
    for number in range(version, len(_MIGRATIONS)):
        db.executescript(
            "BEGIN;" + _MIGRATIONS[number] + f"PRAGMA user_version = {number + 1};COMMIT;"
        )


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
    """A hard link to the stored file (a copy across file systems)."""
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    try:
        os.link(stored, link)
    except OSError:
        shutil.copyfile(stored, link)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        temporary.write_bytes(data)
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
