"""`quotebot health`: whether what the bot needs answers, for an operator or a container's
health check. It looks at the bot's own state (the SQLite file, or DATABASE_URL's
PostgreSQL), the library of articles in DATA_DIR, and Discord's API (DISCORD_API_BASE_URL's
gateway endpoint, which needs no token). Exit status 0 when all answer, 1 when any does not.

Registered by `build_parser` in main.py (`add_health_command`).
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass

from corpus.ingest.library import Library, LibraryError

from ..settings import Settings
from ..state import BotState, StateError
from .main import EXIT_ERROR, EXIT_OK, _print

__all__ = ["add_health_command"]

Command = Callable[[str, str, list[str]], argparse.ArgumentParser]

# How long Discord's API may take to answer before it counts as unreachable.
DISCORD_SECONDS = 5.0


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
        _print(json.dumps({"ok": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]}))
    else:
        for check in checks:
            mark = "ok  " if check.ok else "FAIL"
            _print(f"{mark} {check.name}: {check.detail} ({check.seconds * 1000:.0f} ms)")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_ERROR


def _timed(name: str, probe: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail, ok = probe(), True
    except (StateError, LibraryError, OSError) as error:
        detail, ok = str(error), False
    return Check(name, ok, detail, time.perf_counter() - started)


def _state(settings: Settings) -> Check:
    def probe() -> str:
        state = BotState(
            settings.data_dir,
            default_retention_days=settings.retention_days,
            database_url=settings.state_database(),
        )
        try:
            state.known_servers()  # a query, not only a connection
            kind = "the file" if state.in_file else "PostgreSQL at"
            return f"{kind} {state.where} answers"
        finally:
            state.close()

    return _timed("bot state", probe)


def _library(settings: Settings) -> Check:
    def probe() -> str:
        collections = Library(settings.data_dir).collections()
        return f"{len(collections)} collection(s) in {settings.data_dir}"

    return _timed("articles", probe)


def _discord(settings: Settings) -> Check:
    url = settings.discord_api_base_url.rstrip("/") + "/gateway"

    def probe() -> str:
        try:
            with urllib.request.urlopen(url, timeout=DISCORD_SECONDS) as response:
                body = json.loads(response.read(64 * 1024) or b"{}")
        except urllib.error.HTTPError as error:
            raise OSError(f"{url} answered HTTP {error.code}") from None
        except urllib.error.URLError as error:
            raise OSError(f"{url} cannot be reached ({error.reason})") from None
        except ValueError:
            raise OSError(f"{url} did not answer as Discord's API does") from None
        if not isinstance(body, dict) or "url" not in body:
            raise OSError(f"{url} did not answer as Discord's API does")
        return f"{url} answers"

    return _timed("Discord API", probe)
