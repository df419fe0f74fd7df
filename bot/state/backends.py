"""Where the bot's state is kept: the SQLite file in DATA_DIR (the default), or PostgreSQL
(DATABASE_URL), for several bot processes sharing one database. The backends are the
library's (corpus/sources/database.py); the state speaks of its own errors."""

from __future__ import annotations

from corpus.sources import Backend, DatabaseError, Db, describe_database, open_backend, reason_of

__all__ = [
    "SUBJECT",
    "Backend",
    "Db",
    "StateError",
    "describe_database",
    "open_backend",
    "reason_of",
]

SUBJECT = "The bot's state"


class StateError(DatabaseError):
    """The bot's state could not be read or written; the message says where and why."""
