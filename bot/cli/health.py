"""`quotebot health`: whether what the bot needs answers, for an operator or a container's
health check. It looks at the bot's own state (the SQLite file, or DATABASE_URL's
PostgreSQL), the library of articles (DATA_DIR's file, or the same PostgreSQL), and Discord's
API (DISCORD_API_BASE_URL's gateway endpoint, which needs no token). Exit status 0 when all
answer, 1 when any does not.
It only reads: nothing is created or migrated, and each check has a time limit.

Registered by `build_parser` in main.py (`add_health_command`).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from corpus.sources import LIBRARY_FILE, describe_database, reason_of

from ..settings import Settings
from ..state.store import STATE_FILE
from .common import EXIT_ERROR, EXIT_OK, Command, print_out

__all__ = ["add_health_command"]


# How long Discord's API may take to answer (each step: connecting, reading) before it
# counts as unreachable, and how long a database may take to answer its one query.
DISCORD_SECONDS = 5.0
QUERY_SECONDS = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


def add_health_command(command: Command) -> None:
    health = command(
        "health",
        "check that the bot's database, its articles and Discord's API answer",
        ["", "--json"],
    )
    health.add_argument("--json", action="store_true", help="print JSON instead of text")
    health.set_defaults(handler=_health)


def _health(args: argparse.Namespace, settings: Settings) -> int:
    checks = [_state(settings), _library(settings), _discord(settings)]
    if args.json:
        print_out(
            json.dumps({"ok": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]})
        )
    else:
        for check in checks:
            mark = "ok  " if check.ok else "FAIL"
            print_out(f"{mark} {check.name}: {check.detail} ({check.seconds * 1000:.0f} ms)")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_ERROR


def _timed(name: str, probe: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail, ok = probe(), True
    except Exception as error:  # whatever went wrong is the check's answer, never a crash
        detail, ok = str(error) or type(error).__name__, False
    return Check(name, ok, detail, time.perf_counter() - started)


def _state(settings: Settings) -> Check:
    """The bot's state answers a query. Read only: a health check creates nothing and
    migrates nothing (a missing file is a failure, not a new database)."""
    url = settings.state_database()

    def probe() -> str:
        if url is None:
            path = settings.data_dir / STATE_FILE
            _read_only_query(path, "SELECT COUNT(*) FROM servers")
            return f"the file {path} answers"
        _postgres_query(url, "state", "SELECT COUNT(*) FROM servers")
        return f"PostgreSQL at {describe_database(url)[0]} answers"

    return _timed("bot state", probe)


def _library(settings: Settings) -> Check:
    url = settings.state_database()

    def probe() -> str:
        if url is not None:
            (count,) = _postgres_query(url, "library", "SELECT COUNT(*) FROM collections")
            return f"{count} collection(s) in PostgreSQL at {describe_database(url)[0]}"
        path = settings.data_dir / LIBRARY_FILE
        (count,) = _read_only_query(path, "SELECT COUNT(*) FROM collections")
        return f"{count} collection(s) in {settings.data_dir}"

    return _timed("articles", probe)


def _read_only_query(path: Path, sql: str) -> tuple:
    if not path.is_file():
        raise OSError(f"{path} does not exist (has the bot run with this DATA_DIR?)")
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=QUERY_SECONDS)
        ) as db:
            return db.execute(sql).fetchone()
    except sqlite3.Error as error:
        raise OSError(f"{path} cannot be read ({error})") from None


def _postgres_query(url: str, store: str, sql: str) -> tuple:
    """One query of a store's tables, read only, within QUERY_SECONDS; OSError saying why
    not (never the password), or that the store was never made there."""
    where, secrets = describe_database(url)
    try:
        import psycopg

        with psycopg.connect(
            url,
            connect_timeout=int(QUERY_SECONDS),
            options=f"-c statement_timeout={int(QUERY_SECONDS * 1000)} -c lock_timeout=1000",
        ) as db:
            made = db.execute(
                "SELECT version FROM quotebot_schema WHERE name = %s", (store,)
            ).fetchone()
            row = db.execute(sql).fetchone() if made else None
    except Exception as error:
        raise OSError(
            f"PostgreSQL at {where} cannot be used ({reason_of(error, secrets)})"
        ) from None
    if row is None:
        raise OSError(f"PostgreSQL at {where} holds no {store} yet (has the bot run?)")
    return row


def _discord(settings: Settings) -> Check:
    url = settings.discord_api_base_url.rstrip("/") + "/gateway"
    # Discord's front refuses Python's default User-Agent; it asks bots to name themselves.
    request = urllib.request.Request(
        url, headers={"User-Agent": "DiscordBot (https://github.com/quotebot, health)"}
    )

    def probe() -> str:
        try:
            with urllib.request.urlopen(request, timeout=DISCORD_SECONDS) as response:
                body = json.loads(response.read(64 * 1024) or b"{}")
        except urllib.error.HTTPError as error:
            raise OSError(f"{url} answered HTTP {error.code}") from None
        except urllib.error.URLError as error:
            raise OSError(f"{url} cannot be reached ({error.reason})") from None
        except (ValueError, http.client.HTTPException, TimeoutError):
            raise OSError(f"{url} did not answer as Discord's API does") from None
        if not isinstance(body, dict) or "url" not in body:
            raise OSError(f"{url} did not answer as Discord's API does")
        return f"{url} answers"

    return _timed("Discord API", probe)
