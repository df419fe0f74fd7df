"""Where a store keeps its rows: a SQLite file (the default), or PostgreSQL (DATABASE_URL), for
several processes, on several machines, sharing one database.

The library (corpus/sources/library.py, with its feeds) and the bot's own state
(bot/state/store.py) both run the same SQL on either: `?` placeholders, in the subset both
speak (upserts with ON CONFLICT, RETURNING, no engine-specific functions), over the same
schema, migrated in order on open. What differs is here: connecting, the schema's column
types, taking the write lock, and making deleted rows' bytes go: SQLite overwrites them
(`secure_delete`) and truncates its log; PostgreSQL vacuums the tables they were in.

Writers take one lock per store (SQLite's write lock; in PostgreSQL an advisory lock held for
the transaction), so what a transaction reads stays true until it commits, in every process.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import urllib.parse
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import CorpusError
from .sqlite import LOCK_SECONDS, SchemaTooNew, migrate, use_wal

__all__ = [
    "UNENCODED_PASSWORD",
    "Backend",
    "DatabaseError",
    "Db",
    "DuplicateRow",
    "PostgresBackend",
    "SqliteBackend",
    "describe_database",
    "open_backend",
    "postgres_ddl",
    "reason_of",
    "unencoded_password",
]

_log = logging.getLogger(__name__)

# How long a checkpoint waits for readers of SQLite's log to finish, and a vacuum for a lock.
CHECKPOINT_WAIT_MS = 200
VACUUM_WAIT_MS = 2000


class DatabaseError(CorpusError):
    """A store could not be read or written; the message says which, where and why."""


class DuplicateRow(DatabaseError):
    """A row that is unique is there already (another writer added it a moment ago)."""


class Db(Protocol):
    """A connection inside one transaction, as the stores use it."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...


class Backend(Protocol):
    where: str  # for messages: the file, or the database (never its password)
    shared: bool  # several machines may use it (PostgreSQL), rather than one folder

    def migrate(self, migrations: Sequence[str]) -> None: ...

    def reading(self) -> contextlib.AbstractContextManager[Db]: ...

    def transaction(
        self,
        *,
        deleting: Sequence[str] = (),
        undo: Callable[[], None] | None = None,
        exclusive: bool = True,
        part: int | None = None,
    ) -> contextlib.AbstractContextManager[Db]: ...

    def finish_deleting(self, tables: Sequence[str]) -> None: ...

    def close(self) -> None: ...


def open_backend(
    *,
    path: Path,
    database_url: str | None,
    store: str,
    subject: str,
    error: type[DatabaseError] = DatabaseError,
    pool_size: int = 4,
) -> Backend:
    """PostgreSQL when `database_url` is given (the store's tables beside the other stores'),
    else the SQLite file `path`. `subject` names the store in messages ("The bot's state")."""
    if database_url:
        return PostgresBackend(
            database_url, store=store, subject=subject, error=error, pool_size=pool_size
        )
    return SqliteBackend(path, subject=subject, error=error)


class SqliteBackend:
    shared = False

    def __init__(
        self,
        path: Path,
        *,
        subject: str = "The database",
        error: type[DatabaseError] = DatabaseError,
    ) -> None:
        self.path = path
        self.where = str(path)
        self._subject = subject
        self._error = error

    def migrate(self, migrations: Sequence[str]) -> None:
        with self.reading() as db:
            migrate(db, migrations)  # type: ignore[arg-type]
        self.path.chmod(0o600)  # members' questions, articles: the host's to read only

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection; any SQLite failure, reading or writing, becomes this store's error
        (DuplicateRow for a unique row there already)."""
        try:
            db = sqlite3.connect(self.path, timeout=LOCK_SECONDS, isolation_level=None)
        except sqlite3.Error as error:
            raise self._error(
                f"{self._subject} could not be opened ({reason_of(error)})."
            ) from None
        try:
            use_wal(db)
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA secure_delete=ON")
            yield db
        except sqlite3.IntegrityError as error:
            raise DuplicateRow(
                f"{self._subject} holds that already ({reason_of(error)})."
            ) from None
        except sqlite3.Error as error:
            raise self._error(f"{self._subject} could not be used ({reason_of(error)}).") from None
        finally:
            db.close()

    @contextlib.contextmanager
    def transaction(
        self,
        *,
        deleting: Sequence[str] = (),
        undo: Callable[[], None] | None = None,
        exclusive: bool = True,
        part: int | None = None,
    ) -> Iterator[sqlite3.Connection]:
        """One transaction, all or nothing, holding the write lock from the start (SQLite
        has no other kind of write: `exclusive` and `part` change nothing here). If it
        fails (the commit too), `undo` runs first, still under the lock: what the caller did
        outside the database (files written) goes with it. After one that may delete
        members' data, the log is checkpointed into the database and truncated: the deleted
        rows' old pages must not outlive them in the log (a reader in the way postpones that
        to the next `finish_deleting`)."""
        with self.reading() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                try:
                    if undo is not None:
                        undo()
                finally:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                raise
            if deleting:
                _checkpoint(db)

    def finish_deleting(self, tables: Sequence[str]) -> None:
        with self.reading() as db:
            _checkpoint(db)

    def close(self) -> None:
        return None


class PostgresBackend:
    """PostgreSQL through psycopg 3 and its connection pool. Imported only when asked for,
    so a bot that keeps everything in SQLite never loads the driver. Each store (`store`:
    "library", "state") migrates its own tables and has its own writers' lock."""

    shared = True

    def __init__(
        self,
        url: str,
        *,
        store: str = "state",
        subject: str = "The database",
        error: type[DatabaseError] = DatabaseError,
        pool_size: int = 4,
        statement_seconds: float = LOCK_SECONDS,
    ) -> None:
        self._subject, self._error, self._store = subject, error, store
        self._statement_ms = int(statement_seconds * 1000)
        try:
            import psycopg
            import psycopg.conninfo
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise error(
                "DATABASE_URL names PostgreSQL, but its driver is not installed: "
                "pip install 'psycopg[binary]' psycopg-pool"
            ) from None
        self._errors = psycopg.Error
        self._duplicates = psycopg.errors.UniqueViolation
        self.where, self._secrets = describe_database(url)
        if unencoded_password(url):
            raise error(UNENCODED_PASSWORD)
        self._pool = None
        try:
            # The statement time limit set once for each connection, beside the URL's own
            # options (a search_path, say), rather than by a statement in every transaction.
            options = " ".join(
                filter(
                    None,
                    (
                        psycopg.conninfo.conninfo_to_dict(url).get("options"),
                        f"-c statement_timeout={self._statement_ms}",
                    ),
                )
            )
            settings = {"connect_timeout": int(LOCK_SECONDS), "options": options}
            # One connection first: a wrong address or password fails now, with its reason,
            # rather than as a pool that waited its whole timeout. Its schema names the
            # writers' lock: deployments sharing a database in schemas of their own do not
            # wait for each other's writers.
            with psycopg.connect(url, **settings) as first:
                (schema,) = first.execute("SELECT current_schema()").fetchone() or ("",)
            self._writers_lock = _lock_of(store, schema or "")
            self._pool = ConnectionPool(
                url,
                min_size=1,
                max_size=pool_size,
                timeout=LOCK_SECONDS,
                open=True,
                # A connection broken by a restart or a failover is replaced, not handed out.
                check=ConnectionPool.check_connection,
                kwargs=settings,
            )
            self._pool.wait(timeout=LOCK_SECONDS)
        except Exception as failure:
            if self._pool is not None:
                self._pool.close()
            reason = reason_of(failure, self._secrets)
            raise error(f"PostgreSQL at {self.where} cannot be reached ({reason}).") from None

    def migrate(self, migrations: Sequence[str], *, store: str | None = None) -> None:
        """The schema of this store (or of `store`, another one in the same database)
        brought up to date in one transaction, holding an advisory lock, so processes
        starting together apply each step once."""
        store = store or self._store
        with self._connected(lock=_MIGRATION_LOCK) as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS quotebot_schema "
                "(name TEXT PRIMARY KEY, version BIGINT NOT NULL)"
            )
            row = db.execute(
                "SELECT version FROM quotebot_schema WHERE name = ?", (store,)
            ).fetchone()
            version = row[0] if row else 0
            if version > len(migrations):
                raise SchemaTooNew
            for step in migrations[version:]:
                for statement in _statements(postgres_ddl(step)):
                    db.execute(statement)
            db.execute(
                "INSERT INTO quotebot_schema (name, version) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                (store, len(migrations)),
            )

    @contextlib.contextmanager
    def reading(self) -> Iterator[Db]:
        with self._connected(lock=None) as db:
            yield db

    @contextlib.contextmanager
    def transaction(
        self,
        *,
        deleting: Sequence[str] = (),
        undo: Callable[[], None] | None = None,
        exclusive: bool = True,
        part: int | None = None,
    ) -> Iterator[Db]:
        """One transaction, all or nothing, holding the store's writers' advisory lock: one
        writer at a time across every process, as SQLite has it (rows read and then changed
        must be the same rows). With `part` (a server's id), it reads and changes that
        part's rows only: it holds the part's own lock, and the store's shared, so writers
        of other parts run beside it while a writer of the whole store still waits for all.
        Not `exclusive`: a write that reads nothing first (one insert) takes no lock, and
        runs beside the others, as PostgreSQL's rows allow. If it fails, `undo` runs (under
        the lock, unless the commit itself failed). Tables it deleted rows from are vacuumed
        after the commit."""
        lock = self._writers_lock if exclusive else None
        with self._connected(lock=lock, part=part if exclusive else None, undo=undo) as db:
            yield db
        if deleting:
            self.finish_deleting(deleting)

    @contextlib.contextmanager
    def _connected(
        self,
        *,
        lock: int | None,
        part: int | None = None,
        undo: Callable[[], None] | None = None,
    ) -> Iterator[Db]:
        assert self._pool is not None
        try:
            with (
                self._undone_on_failure(undo) as failing,
                self._pool.connection() as connection,
                connection.transaction(),
            ):
                db = _PostgresDb(connection)
                if lock is not None and part is not None:
                    db.execute(
                        "SELECT pg_advisory_xact_lock_shared(CAST(? AS BIGINT)), "
                        "pg_advisory_xact_lock(CAST(? AS INTEGER), CAST(? AS INTEGER))",
                        (lock, _PARTS, _part_key(lock, part)),
                    )
                elif lock is not None:
                    db.execute("SELECT pg_advisory_xact_lock(?)", (lock,))
                with failing():  # undone here, under the lock, when the work fails
                    yield db
        except self._duplicates as error:
            raise DuplicateRow(
                f"{self._subject} holds that already ({reason_of(error, self._secrets)})."
            ) from None
        except self._errors as error:
            raise self._error(
                f"{self._subject} could not be used ({reason_of(error, self._secrets)})."
            ) from None

    @staticmethod
    @contextlib.contextmanager
    def _undone_on_failure(
        undo: Callable[[], None] | None,
    ) -> Iterator[Callable[[], contextlib.AbstractContextManager[None]]]:
        """`undo` once if the transaction fails: inside the block `failing()` marks (the
        work failed, the lock still held), or else at the end (the commit failed)."""
        undone = False

        @contextlib.contextmanager
        def failing() -> Iterator[None]:
            nonlocal undone
            try:
                yield
            except BaseException:
                undone = True
                if undo is not None:
                    undo()
                raise

        try:
            yield failing
        except BaseException:
            if not undone and undo is not None:
                undo()
            raise

    def finish_deleting(self, tables: Sequence[str]) -> None:
        """VACUUM the tables rows were deleted from (outside any transaction, as it must be),
        so their space is reclaimed rather than only marked dead. It waits a moment at most
        for a lock (another process's vacuum, autovacuum); one that cannot run now is logged,
        and the next sweep vacuums again. The deletion itself is committed either way."""
        assert self._pool is not None
        try:
            with self._pool.connection() as connection:
                connection.autocommit = True
                try:
                    connection.execute(f"SET lock_timeout = {VACUUM_WAIT_MS}")
                    connection.execute(f"VACUUM {', '.join(_checked(tables))}")
                finally:
                    connection.execute("RESET lock_timeout")
                    connection.autocommit = False
        except self._errors as error:
            _log.warning(
                "Vacuuming %s waits for the next sweep (%s)",
                self._subject.casefold(),
                reason_of(error, self._secrets),
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()


class _PostgresDb:
    """A psycopg connection speaking the stores' `?` placeholders."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._connection.execute(_placeholders(sql), _storable(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        with self._connection.cursor() as cursor:
            cursor.executemany(_placeholders(sql), (_storable(row) for row in rows))
            return cursor

    def stream(self, sql: str, batch: int = 500) -> Iterator[tuple[Any, ...]]:
        """The rows of a query a batch at a time (a server-side cursor), whatever their
        number: what SQLite's cursors do by themselves."""
        with self._connection.cursor(name="quotebot_stream") as cursor:
            cursor.execute(_placeholders(sql))
            while rows := cursor.fetchmany(batch):
                yield from rows


def _storable(params: Sequence[Any]) -> tuple[Any, ...]:
    """PostgreSQL's text holds no NUL character (SQLite's does): one from a feed's title or
    an article's metadata is dropped, rather than failing the whole write."""
    return tuple(v.replace("\x00", "") if isinstance(v, str) else v for v in params)


def postgres_ddl(sqlite_ddl: str) -> str:
    """The schema as PostgreSQL types it: 64-bit integers (Discord's ids need them), double
    precision times, byte arrays, and generated ids where SQLite has its row ids."""
    ddl = re.sub(
        r"\bid INTEGER PRIMARY KEY(?: AUTOINCREMENT)?\b",
        "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        sqlite_ddl,
    )
    ddl = re.sub(r"\bINTEGER\b", "BIGINT", ddl)
    ddl = re.sub(r"\bREAL\b", "DOUBLE PRECISION", ddl)
    return re.sub(r"\bBLOB\b", "BYTEA", ddl)


def _placeholders(sql: str) -> str:
    # The stores' SQL holds no `?` or `%` inside a string literal.
    return sql.replace("%", "%%").replace("?", "%s")


def _statements(script: str) -> Iterator[str]:
    return (statement.strip() for statement in script.split(";") if statement.strip())


def _checked(tables: Sequence[str]) -> list[str]:
    names = sorted(set(tables))
    if not all(re.fullmatch(r"[a-z_]+", name) for name in names):
        raise ValueError(f"not a table name: {names}")
    return names


def _checkpoint(db: sqlite3.Connection) -> bool:
    """Copy SQLite's log into the database and truncate it, so no deleted row's old page
    stays in it; False when a reader kept it from finishing (the next sweep tries again).
    Waits a moment at most for readers, never the whole lock timeout."""
    db.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy


def describe_database(url: str) -> tuple[str, tuple[str, ...]]:
    """How to name a database in messages (user@host:port/name, never its password), and the
    secrets to keep out of any message about it."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(url)
    except Exception:
        return "DATABASE_URL (not a valid URL)", _secrets_in(url)
    if unencoded_password(url):
        return "DATABASE_URL (its password is not percent-encoded)", _secrets_in(url)
    password = parts.get("password")
    user = f"{parts['user']}@" if parts.get("user") else ""
    host, port = parts.get("host") or "localhost", parts.get("port") or 5432
    shown = f"{user}{host}:{port}/{parts.get('dbname') or ''}"
    secrets = tuple(filter(None, (str(password) if password else None, *_secrets_in(url))))
    for secret in sorted(secrets, key=len, reverse=True):  # a password read as the host
        shown = shown.replace(secret, "***")
    return shown, secrets


UNENCODED_PASSWORD = (
    "DATABASE_URL's password holds a character a URL reserves: write it percent-encoded "
    "(@ as %40, / as %2F, : as %3A, ? as %3F, # as %23)."
)


def unencoded_password(url: str) -> bool:
    """Whether the URL's user part holds an `@` or `/` a password left unencoded brings
    (libpq would read part of it as the host, and print it in its errors)."""
    _, scheme, rest = url.partition("://")
    user_info = rest.rpartition("@")[0] if scheme else ""
    return "@" in user_info or "/" in user_info


def _secrets_in(url: str) -> tuple[str, ...]:
    """What in a URL may be a password: after `user:` and up to the last `@` (a password
    left unencoded may hold `/` or `@`), and any password= parameter, as written and
    percent-decoded."""
    found = re.findall(r"password=([^&\s]*)", url)
    _, scheme, rest = url.partition("://")
    if scheme and "@" in rest:
        user_info = rest.rpartition("@")[0]
        if ":" in user_info:
            found.append(user_info.partition(":")[2])
    return tuple(
        secret for raw in found for secret in {raw, urllib.parse.unquote(raw)} if len(secret) > 0
    )


def reason_of(error: BaseException, secrets: Sequence[str] = ()) -> str:
    """An error's first line, for a message: a malformed URL said so, and `secrets` (a
    database password) never in it."""
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    text = text.strip().splitlines()[0] if text.strip() else text
    if "percent-encoded" in text or "invalid connection option" in text or "missing" in text:
        return "DATABASE_URL is not a valid URL"
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _lock_of(store: str, schema: str) -> int:
    """The writers' advisory lock of a store in a schema: a number of its own (not the
    migrations' lock)."""
    return _WRITERS_LOCKS + zlib.crc32(f"{store}\x00{schema}".encode())


def _part_key(lock: int, part: int) -> int:
    """A part's lock, in the two-number space of advisory locks (32 bits each): the store's
    lock and the part's id folded together."""
    return zlib.crc32(f"{lock}\x00{part}".encode()) - 2**31


# The first number of every part's two-number advisory lock (theirs apart from the one-number
# locks above: PostgreSQL keeps the two kinds apart).
_PARTS = 0x5142

# The advisory lock the migrations hold, and where the writers' locks start.
_MIGRATION_LOCK = 0x51_0B07_57A7E
_WRITERS_LOCKS = 0x52_0000_0000_0000
