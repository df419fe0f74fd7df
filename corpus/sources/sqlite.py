"""SQLite as the project's stores use it: write-ahead logging, and a schema migrated in order.

The library's database and the bot's own state both open their files this way, so both
survive several processes opening a new data directory at once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence

__all__ = ["LOCK_SECONDS", "SchemaTooNew", "migrate", "use_wal"]

LOCK_SECONDS = 10.0


class SchemaTooNew(Exception):
    """The database was written by a newer version of quotebot."""


def use_wal(db: sqlite3.Connection) -> None:
    """Write-ahead logging. Switching a new database to it needs the file to itself, and
    SQLite answers "locked" at once, without waiting, while another connection switches it
    (processes opening a new data directory together): so it is tried again, for as long as
    any lock is waited for."""
    deadline = time.monotonic() + LOCK_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def migrate(db: sqlite3.Connection, migrations: Sequence[str]) -> None:
    """Bring the schema up to date, one step at a time, each under the write lock with the
    version read again inside it: processes opening a new data directory at once apply each
    step once (read outside the lock, two of them ran the same step and one failed)."""
    while True:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > len(migrations):
            raise SchemaTooNew
        if version == len(migrations):
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version < len(migrations):
                for statement in _statements(migrations[version]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _statements(script: str) -> Iterator[str]:
    """The statements of a migration (ours hold no `;` inside a statement)."""
    return (statement.strip() for statement in script.split(";") if statement.strip())
