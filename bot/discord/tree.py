"""The bot's command tree: every interaction passes the gate; errors reach the member."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from .respond import REPORTED

if TYPE_CHECKING:
    from .gate import Gate
    from .respond import Responder

__all__ = ["QuoteTree"]


class QuoteTree(app_commands.CommandTree):
    """Slash commands, context menus and autocomplete all pass `Gate.check` (the "Show
    context" button calls it too). A command in a cog has its errors mapped by the cog's
    `cog_app_command_error`; this catches the rest (the context menu, a failing check)."""

    gate: Gate
    responder: Responder

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await self.gate.check(interaction)

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if interaction.extras.get(REPORTED):
            return  # its cog has told the member already
        await self.responder.report(interaction, _cause(error))


def _cause(error: app_commands.AppCommandError) -> BaseException:
    return error.original if isinstance(error, app_commands.CommandInvokeError) else error
