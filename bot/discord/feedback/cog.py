"""Feedback and the gap queue: members vote on answers, moderators pick the right quote,
read the votes with /feedback and the unanswered questions with /gaps."""

from __future__ import annotations

import discord
from discord import app_commands

from .. import render
from ..cogbase import BotCog
from .buttons import PickSelect

__all__ = ["FeedbackCog"]

NOT_KEPT = (
    "That answer is no longer kept (answers are kept for the server's retention period), so "
    "the vote was not counted."
)
NO_QUOTES = "That answer showed no quotes to pick from."


class FeedbackCog(BotCog, name="Feedback"):
    # The buttons under answers

    async def vote(self, interaction: discord.Interaction, answer_id: int, vote: int) -> None:
        member, guild = interaction.user.id, interaction.guild_id
        counted = await self.records.run(
            lambda state: state.vote(answer_id, member, vote, guild_id=guild)
        )
        text = render.vote_thanks(vote) if counted else NOT_KEPT
        await self.responder.send(interaction, content=text, ephemeral=True)

    async def offer_pick(self, interaction: discord.Interaction, answer_id: int) -> None:
        self.gate.require_admin(interaction)
        shown = await self.records.run(lambda state: state.answer(answer_id))
        if shown is None or shown.guild_id != interaction.guild_id:
            await self.responder.send(interaction, content=NOT_KEPT, ephemeral=True)
            return
        if not shown.quotes:
            await self.responder.send(interaction, content=NO_QUOTES, ephemeral=True)
            return
        view = discord.ui.View(timeout=None)
        view.add_item(PickSelect(answer_id, [q.text for q in shown.quotes]))
        await self.responder.send(
            interaction, embed=render.pick_embed(shown), view=view, ephemeral=True
        )

    async def pick(self, interaction: discord.Interaction, answer_id: int, index: int) -> None:
        guild, member = self.gate.require_admin(interaction), interaction.user.id
        picked = await self.records.run(
            lambda state: state.pick_right_quote(answer_id, guild, member, index)
        )
        text = render.picked_text(index) if picked else NOT_KEPT
        await self.responder.send(interaction, content=text, ephemeral=True)

    # Moderators' commands

    @app_commands.command(name="feedback")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def feedback(self, interaction: discord.Interaction) -> None:
        """Members' votes on the answers, and the worst-rated recent answers (moderators)."""
        guild = self.gate.require_admin(interaction)
        report = await self.records.run(lambda state: state.feedback(guild))
        await self.responder.send(interaction, embed=render.feedback_embed(report), ephemeral=True)

    @app_commands.command(name="gaps")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.describe(
        dismiss="Take this question (its number in the list) off the queue",
    )
    async def gaps(
        self,
        interaction: discord.Interaction,
        dismiss: app_commands.Range[int, 1, 10**15] | None = None,
    ) -> None:
        """Questions the articles could not answer, most asked first (moderators). Add an
        article that answers one with /article add, and it leaves the queue."""
        guild = self.gate.require_admin(interaction)
        if dismiss is not None:
            gone = await self.records.run(lambda state: state.close_gaps(guild, [dismiss]))
            await self.responder.send(
                interaction, content=render.dismissed_text(dismiss, gone > 0), ephemeral=True
            )
            return
        queued = await self.records.run(lambda state: state.gaps(guild))
        await self.responder.send(interaction, embed=render.gaps_embed(queued), ephemeral=True)
