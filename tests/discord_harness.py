"""Running the real bot against the fake Discord inside one test."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from discord.ext import commands

from bot.discord.app import create_bot, open_service
from bot.settings import Settings, load_settings
from tests.conftest import ARTICLE
from tests.fake_discord import FakeDiscord

TOKEN = "fake-token-for-tests.abcdefghijklmnop"


@dataclass
class Running:
    fake: FakeDiscord
    bot: commands.Bot
    settings: Settings
    seeds: Path

    async def settled(self) -> None:
        """Wait until every message handler the bot started has finished: a definite signal
        that a message it was sent earlier got no reply, rather than a sleep that races it.
        (discord.py names each handler's task "discord.py: on_message".)"""
        for _ in range(500):
            busy = [
                t
                for t in asyncio.all_tasks()
                if t.get_name().startswith("discord.py: on_message") and not t.done()
            ]
            if not busy:
                return
            await asyncio.wait(busy, timeout=0.02)
        raise TimeoutError("the bot's message handlers did not finish")


def make_settings(fake: FakeDiscord, seeds: Path, cache: Path, **overrides: str) -> Settings:
    environ = {
        "DISCORD_TOKEN": TOKEN,
        "SEEDS_DIR": str(seeds),
        "CACHE_DIR": str(cache),
        "DISCORD_API_BASE_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "HOME": str(cache),
        "DATA_DIR": str(cache.parent / "data"),
        **overrides,
    }
    return load_settings(env_file=None, environ=environ)


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path,
    *,
    defer_after: float | None = None,
    request_seconds: float | None = None,
    **overrides: str,
) -> AsyncIterator[Running]:
    fake = FakeDiscord()
    await fake.start()
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    shutil.copy(ARTICLE, seeds)
    settings = make_settings(fake, seeds, tmp_path / "cache", **overrides)
    service = open_service(settings)
    bot = create_bot(settings, service, guild_ready_timeout=0.01)
    task = asyncio.create_task(bot.start(TOKEN))
    try:
        await fake.wait_ready()
        if defer_after is not None:
            bot.responder.defer_after = defer_after  # type: ignore[attr-defined]
        if request_seconds is not None:
            service.request_seconds = request_seconds
        yield Running(fake, bot, settings, seeds)
    finally:
        await bot.close()
        await asyncio.wait_for(task, 5)
        await fake.stop()
        service.close()


class ErrorLogCatcher(logging.Handler):
    """Exceptions inside discord.py handlers are only logged; collect them to fail the test."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def eventually(predicate, what: str, timeout: float = 10.0):
    """Wait until the bot has done something it does after replying (a write to its state)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := predicate()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
    return found
