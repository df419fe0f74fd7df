"""What every cog of the bot shares: the service, the gate, the responder, the bot's own
state, and errors mapped
to member text in `cog_app_command_error` (the one way a command's failure is told)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from ..settings import Settings
    from .gate import Gate
    from .records import Records
    from .respond import Responder
    from .service import CorpusService

__all__ = ["BotCog"]


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

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await self.responder.report(interaction, cause)
