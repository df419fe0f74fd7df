"""`quotebot db migrate --to postgresql://…`: move a deployment from its SQLite files in
DATA_DIR to PostgreSQL, for several bot processes (on several machines) sharing one database.

Every table moves: the library's (collections, articles, feeds and their items, channel pins,
the change log), its stored texts (from DATA_DIR/texts, each checked against its SHA-256),
and the bot's own state (answers, votes, gaps, forums, retention, mod-log posts…). Each store
moves in one transaction, into an empty database; then every table's rows are counted and
hashed on both sides and compared, and the command says so, table by table. DATA_DIR's files
are left as they were: until DATABASE_URL is set, the bot goes on using them.

Registered by `build_parser` in main.py (`add_database_command`).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from corpus.sources import (
    LIBRARY_FILE,
    LIBRARY_MIGRATIONS,
    CopiedTable,
    DatabaseError,
    Library,
    LibraryError,
    PostgresBackend,
    Source,
    TransferError,
    copy_stores,
    describe_database,
    reason_of,
)

from ..settings import Settings
from ..state.store import MIGRATIONS as STATE_MIGRATIONS
from ..state.store import STATE_FILE, BotState, StateError
from .common import EXIT_ERROR, EXIT_OK, Command, UsageError, print_out

__all__ = ["add_database_command"]


def add_database_command(command: Command) -> None:
    database = command(
        "db",
        "move the articles and the bot's state from DATA_DIR's files to PostgreSQL",
        ["migrate", "migrate --to postgresql://quotebot@db.example:5432/quotebot"],
    )
    actions = database.add_subparsers(dest="action", metavar="ACTION", required=True)
    migrate = actions.add_parser(
        "migrate",
        help="copy every table into an empty PostgreSQL database, and compare",
        description="Copy every table of DATA_DIR's library and bot state into an empty "
        "PostgreSQL database, then compare each table's rows on both sides. Stop the bot "
        "first; DATA_DIR's files are left as they were.",
    )
    migrate.add_argument(
        "--to",
        metavar="URL",
        help="postgresql://user:password@host:port/db (default: DATABASE_URL, from .env)",
    )
    migrate.add_argument("--json", action="store_true", help="print JSON instead of text")
    migrate.set_defaults(handler=_migrate)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    url = (args.to or settings.state_database() or "").strip()
    if not url:
        raise UsageError(
            "Name the database: set DATABASE_URL (in .env, where the password stays out of "
            "your shell's history), or give --to postgresql://…"
        )
    if not url.startswith(("postgresql://", "postgres://")):
        raise UsageError("--to must be a postgresql:// URL.")
    where, secrets = describe_database(url)
    data = settings.data_dir
    if not (data / LIBRARY_FILE).is_file():
        raise UsageError(f"{data} holds no library ({LIBRARY_FILE}): there is nothing to move.")
    try:
        # The files brought up to this version's schema first (what the bot does on start).
        Library(data).close()
        BotState(data).close()
        compared = _copy(url, data)
    except (TransferError, DatabaseError, LibraryError, StateError) as error:
        print_out(f"Nothing was moved: {reason_of(error, secrets)}")
        return EXIT_ERROR
    same = all(table.same for table in compared)
    if args.json:
        rows = [{**asdict(t), "same": t.same} for t in compared]
        print_out(json.dumps({"ok": same, "to": where, "tables": rows}))
    else:
        for table in compared:
            mark = "same" if table.same else "DIFFERS"
            print_out(f"{mark:7} {table.store}.{table.table}: {table.rows} row(s)")
        if same:
            print_out(
                f"Moved to PostgreSQL at {where}: every table's rows match. Set DATABASE_URL "
                f"to it (in .env) for every bot process; {data} is left as it was."
            )
        else:
            print_out("Some tables differ: do not switch to the database; see above.")
    return EXIT_OK if same else EXIT_ERROR


def _copy(url: str, data: Path) -> list[CopiedTable]:
    """Both stores' schemas made, then both copied in one transaction and compared. The
    statements may take long: a big library's texts are many bytes."""
    target = PostgresBackend(url, store="library", subject="The database", statement_seconds=3600)
    try:
        for store, migrations in (("library", LIBRARY_MIGRATIONS), ("state", STATE_MIGRATIONS)):
            target.migrate(migrations, store=store)
        return copy_stores(
            [
                Source("library", data / LIBRARY_FILE, data / "texts"),
                Source("state", data / STATE_FILE),
            ],
            target,
        )
    finally:
        target.close()
