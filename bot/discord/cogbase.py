"""What every cog of the bot shares: the service, the gate, the responder, the bot's own
state, and errors mapped to member text in `cog_app_command_error` (the one way a command's
failure is told)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from ..settings import Settings
    from .gate import Gate
    from .records import AnswerRecords, Records
    from .respond import Responder
    from .service import CorpusService

__all__ = ["BotCog", "cog_of"]

C = TypeVar("C", bound=commands.Cog)


def cog_of(client: discord.Client, kind: type[C]) -> C:
    """The bot's cog of this kind (a button's callback, or another cog, reaching it)."""
    cog = client.get_cog(kind.__cog_name__)  # type: ignore[attr-defined]
    assert isinstance(cog, kind), f"the {kind.__cog_name__} cog is not loaded"
    return cog


class BotCog(commands.Cog):
    def __init__(
        self,
        bot: commands.Bot,
        service: CorpusService,
        settings: Settings,
        *,
        gate: Gate,
        responder: Responder,
        records: Records,
    ) -> None:
        self.bot = bot
        self.service = service
        self.settings = settings
        self.gate = gate
        self.responder = responder
        self.records = records  # the bot's own state (bot/state), from the event loop

    @functools.cached_property
    def answer_records(self) -> AnswerRecords:
        """What follows every answer this cog gives: its record, the gap queue, the mod log."""
        from .records import AnswerRecords

        return AnswerRecords(self.bot, self.records, self.settings.mod_log_channel_id)

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await self.responder.report(interaction, cause)
