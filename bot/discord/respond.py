"""Sending to Discord, and the one place errors become text for a member.

Every message goes through `Responder.send` or `Responder.reply`, which set
`AllowedMentions.none()`, so text echoed from members or articles can never ping anyone.
Discord drops an interaction not acknowledged within 3 s, so the first response is cut short
and retried as a deferral when Discord is slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import discord

from corpus import CorpusError

from ..state import StateError
from . import render
from .refusals import Refusal
from .service import RequestRefused

__all__ = ["NO_PINGS", "SOMETHING_WRONG", "Responder", "error_message"]

_log = logging.getLogger(__name__)
T = TypeVar("T")

NO_PINGS = discord.AllowedMentions.none()
SOMETHING_WRONG = (
    "Sorry, something went wrong on my side. The moderators can find details in the log."
)

# Each attempt at the first response gets this long before it is abandoned and tried again as
# a deferral, well inside Discord's 3 s.
ACK_ATTEMPT_SECONDS = 0.8
ACK_ATTEMPTS = 3
ALREADY_ACKNOWLEDGED = 40060  # Discord's error code for a second acknowledgement
REPORTED = "quotebot-error-reported"  # in an interaction's extras once the member was told


def error_message(error: BaseException) -> str:
    """What the member reads about `error`: our own errors say what to do; anything else is
    logged by the caller and gets an apology, never a traceback."""
    if isinstance(error, Refusal):
        return str(error)  # our own wording (bot/discord/refusals.py)
    if isinstance(error, CorpusError | RequestRefused | StateError):
        return render.echo(str(error), render.CONTENT_LIMIT)
    return SOMETHING_WRONG


def is_expected(error: BaseException) -> bool:
    """Errors that are the member's or the articles' doing, not a fault to log."""
    return isinstance(error, CorpusError | RequestRefused | StateError | Refusal)


class Responder:
    def __init__(self, *, ephemeral_by_default: bool) -> None:
        self.ephemeral_by_default = ephemeral_by_default
        # Answers that take longer than this are deferred, well inside Discord's 3 seconds.
        self.defer_after = 1.0

    def ephemeral(self, public: bool | None) -> bool:
        return self.ephemeral_by_default if public is None else not public

    async def in_time(
        self,
        interaction: discord.Interaction,
        work: Awaitable[T],
        *,
        ephemeral: bool,
        busy: bool = False,
    ) -> T:
        """Run `work`; if it is not done within `defer_after`, defer so Discord keeps
        waiting. `busy`: it will not be, so the deferral goes first, before the work adds
        to what the process is doing."""
        if busy:
            await self.acknowledge(interaction, ephemeral=ephemeral)
            return await work
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        if not done and not interaction.response.is_done():
            await self.acknowledge(interaction, ephemeral=ephemeral)
        return await task

    async def send(
        self,
        interaction: discord.Interaction,
        *,
        content: str | None = None,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
        ephemeral: bool | None,
    ) -> int | None:
        """Send the response (or a follow-up, once responded); the message's id when Discord
        says it."""
        ephemeral = self.ephemeral(None) if ephemeral is None else ephemeral
        extra: dict[str, Any] = {"view": view} if view is not None else {}
        if embed is not None:
            extra["embed"] = embed
        if not interaction.response.is_done():
            sent: list[Any] = []

            async def respond() -> None:
                sent.append(
                    await interaction.response.send_message(
                        content=content, ephemeral=ephemeral, allowed_mentions=NO_PINGS, **extra
                    )
                )

            if await _first_response(respond):
                return getattr(sent[0], "message_id", None) if sent else None
            await self.acknowledge(interaction, ephemeral=ephemeral)
        message = await interaction.followup.send(
            content=content, ephemeral=ephemeral, allowed_mentions=NO_PINGS, wait=True, **extra
        )
        return message.id

    async def reply(
        self,
        message: discord.Message,
        *,
        content: str | None = None,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
    ) -> discord.Message:
        extra: dict[str, Any] = {"view": view} if view is not None else {}
        return await message.reply(
            content=content, embed=embed, allowed_mentions=NO_PINGS, mention_author=False, **extra
        )

    async def acknowledge(self, interaction: discord.Interaction, *, ephemeral: bool) -> None:
        """Defer ("thinking…"), each attempt cut short the same way, until one lands."""
        for _ in range(ACK_ATTEMPTS):
            if interaction.response.is_done():
                return
            try:
                if await _first_response(
                    lambda: interaction.response.defer(ephemeral=ephemeral, thinking=True)
                ):
                    return
            except discord.HTTPException as error:
                if error.code == ALREADY_ACKNOWLEDGED:  # an abandoned attempt had landed
                    return
                raise
        _log.warning("Discord did not take the acknowledgement of an interaction in time.")

    async def report(self, interaction: discord.Interaction, error: BaseException) -> None:
        """Tell the member about a failed command (and log it unless it was expected), once."""
        interaction.extras[REPORTED] = True
        command = interaction.command.name if interaction.command else "button"
        await _tell(
            error,
            f"Command {command} failed",
            lambda text: self.send(interaction, content=text, ephemeral=True),
        )

    @contextlib.asynccontextmanager
    async def reporting(self, interaction: discord.Interaction) -> AsyncIterator[None]:
        """For a button's or a select's callback, which no command error handler sees: a
        failure inside is told to the member (and logged unless expected)."""
        try:
            yield
        except Exception as error:
            await self.report(interaction, error)

    async def report_in_reply(self, message: discord.Message, error: BaseException) -> None:
        """Tell the member whose mention failed, in a reply (logged unless expected)."""
        await _tell(
            error, "Answering a mention failed", lambda text: self.reply(message, content=text)
        )


async def _tell(error: BaseException, what: str, say: Callable[[str], Awaitable[Any]]) -> None:
    if not is_expected(error):
        _log.error(what, exc_info=error)
    try:
        await say(error_message(error))
    except discord.HTTPException:
        _log.exception("Could not tell the member about the error")


async def _first_response(respond: Callable[[], Awaitable[Any]]) -> bool:
    """Try the full response while Discord's 3 s allow it. discord.py backs off 1 s, then 3 s,
    after a server error (and waits out a 429 however long): if the response has not landed
    within ACK_ATTEMPT_SECONDS it is abandoned, and False says to acknowledge with a deferral
    and send the content as a follow-up instead."""
    try:
        await asyncio.wait_for(respond(), ACK_ATTEMPT_SECONDS)
    except (TimeoutError, discord.DiscordServerError):
        return False
    return True
