"""Running the Discord bot: `python -m bot run`.

Builds the bot over a `CorpusService`, points discord.py at the configured REST and gateway URLs
(Discord's by default; a proxy's, or the tests' fake Discord), syncs the slash commands, and
shuts down cleanly on SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl
from discord.ext import commands

from ..settings import Settings, SettingsError, host_seeds_dir, open_library
from ..state import BotState, StateError
from .articles import ArticlesCog, FeedsCog, PageButton
from .feedback import FeedbackCog, PickButton, PickSelect, VoteButton
from .forums import ForumCog
from .gate import Gate
from .links import AddLinkButton, LinkCog
from .privacy import PrivacyCog
from .quotes import ContextButton, QuoteCog
from .records import Records
from .respond import Responder
from .service import CorpusService
from .tree import QuoteTree

__all__ = [
    "QuoteBot",
    "ShardedQuoteBot",
    "create_bot",
    "open_service",
    "point_discord_at",
    "run_bot",
]

_log = logging.getLogger(__name__)

# Guild and message events only: no privileged intents. Discord still delivers the content of
# messages that mention the bot, which is all the mention feature needs.
INTENTS = discord.Intents(guilds=True, guild_messages=True, dm_messages=True)


class _QuoteBotMixin:
    """What both bot classes share: loading the cog and syncing commands at start-up."""

    service: CorpusService
    settings: Settings
    records: Records

    def _init_quote_bot(self, service: CorpusService, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self.records = Records(
            BotState(
                settings.data_dir,
                default_retention_days=settings.retention_days,
                database_url=settings.state_database(),
            )
        )
        self.responder = Responder(ephemeral_by_default=settings.ephemeral_by_default)
        self.gate = Gate(settings, self.responder)
        tree: QuoteTree = self.tree  # type: ignore[attr-defined]
        tree.gate, tree.responder = self.gate, self.responder
        _guard_parsers(self._connection.parsers)  # type: ignore[attr-defined]

    async def setup_hook(self) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        for cog in (QuoteCog, ArticlesCog, FeedsCog, FeedbackCog, PrivacyCog, ForumCog, LinkCog):
            await bot.add_cog(
                cog(
                    bot,
                    self.service,
                    self.settings,
                    gate=self.gate,
                    responder=self.responder,
                    records=self.records,
                )
            )
        bot.add_dynamic_items(
            ContextButton, PageButton, VoteButton, PickButton, PickSelect, AddLinkButton
        )
        guild_id = self.settings.dev_guild_id
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
        else:
            synced = await bot.tree.sync()
        _log.info("Synced %d application commands", len(synced))

    async def close(self) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        for name in list(bot.cogs):  # each stops its own work (the feed poller)
            await bot.remove_cog(name)
        await super().close()  # type: ignore[misc]
        self.records.close()

    async def on_message(self, message: discord.Message) -> None:
        # No prefix commands: mentions are handled by the cog's listener.
        return None

    async def on_ready(self) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        articles = len(self.service.corpus.index.spans)
        # Printed, not logged: an admin starting the bot wants to see that it is up.
        shards = bot.shard_count or 1
        mine = getattr(bot, "shard_ids", None) or range(shards)
        state = self.records.state
        print(
            f"Ready: logged in as {bot.user} in {len(bot.guilds)} server(s), "
            f"answering from {articles} article(s); shard(s) {', '.join(map(str, mine))} of "
            f"{shards}; state in {'' if state.in_file else 'PostgreSQL at '}{state.where}. "
            "Ctrl-C to stop.",
            file=sys.stderr,
            flush=True,
        )


def _guard_parsers(parsers: dict[str, Callable[[Any], None]]) -> None:
    """discord.py reads each gateway event in its receive loop, so one event it cannot parse
    (a field missing, an id that is not a number) would end the connection, and `run` with it.
    Each parser is wrapped: a bad event is logged and skipped, and the bot keeps serving."""
    for event, parse in list(parsers.items()):
        parsers[event] = functools.partial(_parse_or_skip, event, parse)


def _parse_or_skip(event: str, parse: Callable[[Any], None], data: Any) -> None:
    try:
        parse(data)
    except Exception:
        _log.exception("Discord sent a %s event the bot could not read; it was skipped.", event)


class QuoteBot(_QuoteBotMixin, commands.Bot):
    def __init__(self, *, service: CorpusService, settings: Settings, **options: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned, **_client_options(settings, options)
        )
        self._init_quote_bot(service, settings)


class ShardedQuoteBot(_QuoteBotMixin, commands.AutoShardedBot):
    def __init__(self, *, service: CorpusService, settings: Settings, **options: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            shard_count=settings.shard_count,
            shard_ids=list(settings.shard_ids) if settings.shard_ids else None,
            **_client_options(settings, options),
        )
        self._init_quote_bot(service, settings)


def _client_options(settings: Settings, options: dict[str, Any]) -> dict[str, Any]:
    intents = INTENTS
    if settings.read_message_content:  # privileged: the host enables it in the portal too
        intents = discord.Intents(INTENTS.value, message_content=True)
    return {
        "intents": intents,
        "allowed_mentions": discord.AllowedMentions.none(),
        "help_command": None,
        "tree_cls": QuoteTree,
        **options,
    }


def create_bot(settings: Settings, service: CorpusService, **options: Any) -> commands.Bot:
    """The bot for these settings: sharded when SHARD_COUNT or SHARD_IDS is set."""
    point_discord_at(settings)
    # The bot never joins voice; don't warn at every start that voice libraries are missing.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    if settings.shard_count is not None or settings.shard_ids:
        return ShardedQuoteBot(service=service, settings=settings, **options)
    return QuoteBot(service=service, settings=settings, **options)


def point_discord_at(settings: Settings) -> None:
    """discord.py keeps its endpoints in class attributes; this is the one place we set them."""
    discord.http.Route.BASE = settings.discord_api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def open_service(settings: Settings, seeds_dir: Path | None = None) -> CorpusService:
    """The corpus service these settings describe: the host's articles opened, each server's
    collection in the library (DATA_DIR's, or PostgreSQL's with DATABASE_URL), those of
    the servers on this process's shards only."""
    library = open_library(settings)
    try:
        return CorpusService.open(
            host_seeds_dir(settings, seeds_dir, library=library),
            cache_dir=settings.cache_dir,
            config=settings.index_config(),
            max_question_chars=settings.max_question_length,
            library=library,
            share_host_articles=settings.share_host_articles,
            private_networks=settings.private_networks_for,
            feed_interval=datetime.timedelta(minutes=settings.feed_interval_minutes),
            posting_lease=datetime.timedelta(seconds=settings.feed_posting_lease_seconds),
            owns_server=settings.owns_server,
        )
    except BaseException:
        library.close()
        raise


# Seconds a thread holds the interpreter lock before another may take it (Python's default is
# 0.005). Servers' work shares one process: with a shorter turn, a server's quick request waits
# less behind another's long indexing (bench/fairness.py: the quiet servers' worst delay went
# from 9.9 s to 4.9 s with ten servers adding heavy files at once).
GIL_SWITCH_SECONDS = 0.0005


def share_the_interpreter() -> None:
    """Shorter turns on the interpreter lock for the bot's threads (see GIL_SWITCH_SECONDS)."""
    sys.setswitchinterval(GIL_SWITCH_SECONDS)


def run_bot(settings: Settings, *, seeds_dir: Path | None = None) -> int:
    token = _token(settings)
    share_the_interpreter()
    service = open_service(settings, seeds_dir)
    try:
        bot = create_bot(settings, service)
    except StateError as error:
        service.close()
        raise SettingsError(str(error)) from None
    try:
        asyncio.run(_serve(bot, token))
    except discord.LoginFailure:
        raise SettingsError(
            "Discord rejected DISCORD_TOKEN. Copy the bot token again from the Developer Portal "
            "(Bot → Reset Token) into .env."
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise SettingsError("Discord refused the requested intents.") from None
    except (aiohttp.ClientConnectionError, OSError) as error:
        raise SettingsError(
            f"Discord could not be reached at {settings.discord_api_base_url} "
            f"({_reason(error)}). Check the network connection (and DISCORD_API_BASE_URL "
            "if you set it)."
        ) from None
    finally:
        service.close()
    return 0


def _reason(error: BaseException) -> str:
    """A short cause: "Connection refused", "Name or service not known", ..."""
    cause = getattr(error, "os_error", None) or error
    number = getattr(cause, "errno", None)
    if isinstance(number, int) and number > 0:
        return os.strerror(number)
    return getattr(cause, "strerror", None) or type(cause).__name__


def _token(settings: Settings) -> str:
    if settings.discord_token is None:
        raise SettingsError(
            "DISCORD_TOKEN is not set. Put your bot token in .env (see .env.example) or the "
            "environment."
        )
    token = settings.discord_token.get_secret_value().strip()
    if not token or any(ch.isspace() for ch in token) or len(token) < 20:
        raise SettingsError(
            "DISCORD_TOKEN does not look like a bot token (too short, or spaces inside). "
            "Copy it again from the Developer Portal."
        )
    return token


async def _serve(bot: commands.Bot, token: str) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows has no signal handlers in asyncio; Ctrl-C still raises KeyboardInterrupt there.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stopping.set)
    async with bot:
        runner = asyncio.create_task(bot.start(token))
        stopper = asyncio.create_task(stopping.wait())
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            _log.info("Shutting down")
            await bot.close()
        stopper.cancel()
        await runner  # re-raises a login failure or a fatal gateway error
    print("Stopped.", file=sys.stderr)
