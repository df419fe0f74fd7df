"""Moving stores from their SQLite files into PostgreSQL, every table and every row, checked.

`quotebot db migrate` (bot/cli/database.py) uses this for the library and the bot's state:
both are copied in one PostgreSQL transaction, so a failure leaves the target as it was, and
the sources are only read. At the end, each table's rows are counted and hashed on both sides
and compared: the same values, in any order (a row's hash does not depend on how either
engine returns an integer, a text or bytes; PostgreSQL's text holds no NUL, so none is
hashed). Rows are read a batch at a time on both sides, whatever the size of a table.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .database import Db, PostgresBackend

__all__ = ["CopiedTable", "Source", "TransferError", "copy_stores", "tables_of"]

# Rows copied per statement: memory stays bounded whatever the size of a table.
_BATCH = 500
_HASH_MODULUS = 2**256


class TransferError(Exception):
    """A store could not be moved; the message says which and why. The target is as it was."""


@dataclass(frozen=True)
class Source:
    """A store to move: its name ("library", "state"), its SQLite file, and for the
    library, the folder of its stored texts (they go into the table `texts`)."""

    store: str
    path: Path
    texts: Path | None = None


@dataclass(frozen=True)
class CopiedTable:
    store: str  # "library", "state"
    table: str
    rows: int  # in the source
    copied: int  # in the target, after the copy
    source_digest: str
    target_digest: str

    @property
    def same(self) -> bool:
        return self.rows == self.copied and self.source_digest == self.target_digest


def tables_of(source: Path) -> list[str]:
    """The source's tables in the order they were made (one referenced comes first)."""
    with _read_only(source) as db:
        rows = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        )
        return [name for (name,) in rows]


def copy_stores(sources: list[Source], target: PostgresBackend) -> list[CopiedTable]:
    """Every row of every table of each source into `target` (its schema migrated already,
    its tables empty, or TransferError), all in one transaction; then each table compared."""
    tables = {source.store: tables_of(source.path) for source in sources}
    with contextlib.ExitStack() as stack:
        readers = {s.store: stack.enter_context(_read_only(s.path)) for s in sources}
        into = stack.enter_context(target.transaction())
        for source in sources:
            for table in tables[source.store]:
                if _count(into, table):
                    raise TransferError(
                        f"The {source.store}'s table {table} in {target.where} holds rows "
                        "already; move into an empty database (or a new schema)."
                    )
        for source in sources:
            db = readers[source.store]
            db.execute("BEGIN")  # one snapshot of each source
            for table in tables[source.store]:
                _copy_table(db, into, table)
            if source.texts is not None:
                _copy_texts(db, into, source.texts)
            for table in tables[source.store]:
                _advance_identity(db, into, table)
    compared = []
    with contextlib.ExitStack() as stack:
        into = stack.enter_context(target.reading())
        for source in sources:
            db = stack.enter_context(_read_only(source.path))
            for table in tables[source.store]:
                if source.texts is not None and table == "texts":
                    compared.append(_compare_texts(source.store, db, into))
                    continue
                rows, digest = _digest(db.execute(f"SELECT * FROM {_quoted(table)}"))
                copied, copied_digest = _digest(into.stream(f"SELECT * FROM {_quoted(table)}"))
                compared.append(
                    CopiedTable(source.store, table, rows, copied, digest, copied_digest)
                )
    return compared


def _copy_texts(db: sqlite3.Connection, into: Any, folder: Path) -> None:
    """Each stored text the articles name, read from `folder` and checked against its
    SHA-256 before it goes in: a damaged or missing file stops the move."""
    wanted = db.execute("SELECT DISTINCT sha256, suffix FROM articles ORDER BY sha256, suffix")
    for digest, suffix in wanted.fetchall():
        path = folder / f"{digest}{suffix}"
        try:
            body = path.read_bytes()
        except OSError as error:
            raise TransferError(f"The stored text {path} cannot be read ({error}).") from None
        if hashlib.sha256(body).hexdigest() != digest:
            raise TransferError(f"The stored text {path} is damaged (its SHA-256 differs).")
        into.execute(
            "INSERT INTO texts (sha256, suffix, body) VALUES (?, ?, ?)", (digest, suffix, body)
        )


def _compare_texts(store: str, db: sqlite3.Connection, into: Any) -> CopiedTable:
    """The texts the articles name against those in the target, each body there hashing
    to its name (hashed by PostgreSQL, so no body is read back)."""
    wanted = db.execute("SELECT DISTINCT sha256, suffix FROM articles")
    held = into.stream(
        "SELECT sha256, suffix FROM texts WHERE encode(sha256(body), 'hex') = sha256"
    )
    rows, digest = _digest(wanted)
    copied, copied_digest = _digest(held)
    return CopiedTable(store, "texts", rows, copied, digest, copied_digest)


def _copy_table(db: sqlite3.Connection, into: Db, table: str) -> None:
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({_quoted(table)})")]
    names = ", ".join(_quoted(c) for c in columns)
    insert = f"INSERT INTO {_quoted(table)} ({names}) VALUES ({', '.join('?' * len(columns))})"
    cursor = db.execute(f"SELECT {names} FROM {_quoted(table)}")
    while rows := cursor.fetchmany(_BATCH):
        into.executemany(insert, rows)


def _advance_identity(db: sqlite3.Connection, into: Db, table: str) -> None:
    """PostgreSQL's generated ids for the table go on after the largest SQLite ever handed
    out (AUTOINCREMENT's promise: an id deleted from the top is not handed out again)."""
    if not any(
        name == "id" and kind.upper() == "INTEGER" and key
        for _, name, kind, _, _, key in db.execute(f"PRAGMA table_info({_quoted(table)})")
    ):
        return
    (largest,) = db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_quoted(table)}").fetchone()
    with contextlib.suppress(sqlite3.OperationalError):  # no AUTOINCREMENT table at all
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        largest = max(largest, row[0] if row else 0)
    (sequence,) = into.execute("SELECT pg_get_serial_sequence(?, 'id')", (table,)).fetchone()
    if sequence is not None:
        into.execute("SELECT setval(?, ?, false)", (sequence, largest + 1))


def _count(db: Any, table: str) -> int:
    (count,) = db.execute(f"SELECT COUNT(*) FROM {_quoted(table)}").fetchone()
    return int(count)


def _digest(rows: Iterable[Iterable[Any]]) -> tuple[int, str]:
    """How many rows, and one hash of them as a set with repeats, whatever their order: the
    sum of each row's hash (so rows are hashed as they stream by, none kept)."""
    count, total = 0, 0
    for row in rows:
        line = "\x1f".join(_value(v) for v in row).encode()
        total = (total + int.from_bytes(hashlib.sha256(line).digest())) % _HASH_MODULUS
        count += 1
    return count, f"{total:064x}"


def _value(value: Any) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, bytes | bytearray | memoryview):
        return "b:" + bytes(value).hex()
    if isinstance(value, float):
        return repr(value)
    return str(value).replace("\x00", "")


def _quoted(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise TransferError(f"not a table or column name: {name!r}")
    return f'"{name}"'


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    if not path.is_file():
        raise TransferError(f"{path} does not exist: there is nothing to move.")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as error:
        raise TransferError(f"{path} cannot be read ({error}).") from None
    try:
        db.isolation_level = None
        yield db
    except sqlite3.Error as error:
        raise TransferError(f"{path} cannot be read ({error}).") from None
    finally:
        db.close()
