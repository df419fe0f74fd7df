"""Moving a store from its SQLite file into PostgreSQL, every table and every row, checked.

`quotebot db migrate --to postgresql://…` (bot/cli/database.py) uses this for the library and
for the bot's state. Each store is copied in one transaction, so a failure leaves the target
as it was; the source is only read. At the end, each table's rows are counted and hashed on
both sides and compared: the same values, in any order (a row's hash does not depend on how
either engine returns an integer, a text or bytes).
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

__all__ = [
    "CopiedTable",
    "TransferError",
    "copy_store",
    "copy_texts",
    "refuse_unless_empty",
    "tables_of",
]

# Rows copied per statement: memory stays bounded whatever the size of a table.
_BATCH = 500


class TransferError(Exception):
    """A store could not be moved; the message says which and why. The target is as it was."""


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


def refuse_unless_empty(store: str, source: Path, target: PostgresBackend) -> None:
    """TransferError unless every table the source has is empty in the target."""
    with target.reading() as into:
        _refuse_unless_empty(store, tables_of(source), into, target.where)


def _refuse_unless_empty(store: str, tables: list[str], into: Db, where: str) -> None:
    for table in tables:
        if _count(into, table):
            raise TransferError(
                f"The {store}'s table {table} in {where} holds rows already; move into an "
                "empty database (or a new schema)."
            )


def copy_store(
    store: str, source: Path, target: PostgresBackend, *, texts: Path | None = None
) -> list[CopiedTable]:
    """Every row of every table of the SQLite file `source` into `target` (whose schema is
    migrated already, and whose tables must be empty), in one transaction; then each table
    compared. `texts`: the folder of stored texts, put into the `texts` table (the library
    keeps them in files beside SQLite, in the database with PostgreSQL)."""
    tables = tables_of(source)
    with _read_only(source) as db, target.transaction() as into:
        db.execute("BEGIN")  # one snapshot of the source
        _refuse_unless_empty(store, tables, into, target.where)
        for table in tables:
            _copy_table(db, into, table)
        if texts is not None:
            copy_texts(db, into, texts)
        _advance_identities(into, [t for t in tables if _has_row_ids(db, t)])
    with _read_only(source) as db, target.reading() as into:
        compared = [
            CopiedTable(
                store,
                table,
                _count(db, table),
                _count(into, table),
                _digest(db, table),
                _digest(into, table),
            )
            for table in tables
            if not (texts is not None and table == "texts")
        ]
        if texts is not None:
            compared.append(_compare_texts(store, db, into))
    return compared


def copy_texts(db: sqlite3.Connection, into: Db, folder: Path) -> None:
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


def _compare_texts(store: str, db: sqlite3.Connection, into: Db) -> CopiedTable:
    """The texts the articles name against those in the target: the same set, each body
    hashing to its name (checked by the database's copy, not the files)."""
    wanted = sorted(db.execute("SELECT DISTINCT sha256, suffix FROM articles").fetchall())
    held = sorted(
        (digest, suffix, hashlib.sha256(bytes(body)).hexdigest())
        for digest, suffix, body in into.execute("SELECT sha256, suffix, body FROM texts")
    )
    target = [(digest, suffix) for digest, suffix, actual in held if actual == digest]
    return CopiedTable(
        store,
        "texts",
        len(wanted),
        len(held),
        _hash_rows(wanted),
        _hash_rows(target),
    )


def _copy_table(db: sqlite3.Connection, into: Db, table: str) -> None:
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({_quoted(table)})")]
    names = ", ".join(_quoted(c) for c in columns)
    insert = f"INSERT INTO {_quoted(table)} ({names}) VALUES ({', '.join('?' * len(columns))})"
    cursor = db.execute(f"SELECT {names} FROM {_quoted(table)}")
    while rows := cursor.fetchmany(_BATCH):
        into.executemany(insert, rows)


def _has_row_ids(db: sqlite3.Connection, table: str) -> bool:
    """Whether the table's key is an integer `id` the database hands out."""
    return any(
        name == "id" and kind.upper() == "INTEGER" and key
        for _, name, kind, _, _, key in db.execute(f"PRAGMA table_info({_quoted(table)})")
    )


def _advance_identities(into: Db, tables: Iterable[str]) -> None:
    """PostgreSQL's generated ids go on after the largest copied one (a copied id is never
    handed out again, as SQLite's AUTOINCREMENT promised)."""
    for table in tables:
        (sequence,) = into.execute("SELECT pg_get_serial_sequence(?, 'id')", (table,)).fetchone()
        if sequence is not None:
            into.execute(
                f"SELECT setval(?, (SELECT COALESCE(MAX(id), 0) + 1 FROM {_quoted(table)}), false)",
                (sequence,),
            )


def _count(db: Any, table: str) -> int:
    (count,) = db.execute(f"SELECT COUNT(*) FROM {_quoted(table)}").fetchone()
    return int(count)


def _digest(db: Any, table: str) -> str:
    return _hash_rows(db.execute(f"SELECT * FROM {_quoted(table)}").fetchall())


def _hash_rows(rows: Iterable[Iterable[Any]]) -> str:
    """One hash of a set of rows, whatever their order and each engine's types."""
    lines = sorted("\x1f".join(_value(v) for v in row) for row in rows)
    return hashlib.sha256("\x1e".join(lines).encode()).hexdigest()


def _value(value: Any) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, bytes | bytearray | memoryview):
        return "b:" + bytes(value).hex()
    if isinstance(value, float):
        return repr(value)
    return str(value)


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
