"""The "Summarise link" message command: a member picks a message holding a link, and gets
the page summarised in its own sentences, with its source. The page joins the server's
articles only if an admin chooses to (the "Add to this server's articles" button, offered to
admins only). Each member and each server may summarise so many links an hour.
"""

from __future__ import annotations

import re
from typing import Any

import discord
from discord import app_commands

from . import render
from .articles.cog import ArticlesCog
from .cogbase import BotCog, cog_of
from .moderation import Cooldown

__all__ = ["AddLinkButton", "LinkCog", "first_link"]

LINK_PERIOD_SECONDS = 3600.0
NO_LINK = "That message has no link (http:// or https://) to summarise."
_LINK = re.compile(r"https?://[^\s<>\"'`|]{1,2000}", re.IGNORECASE)
_TRAILING = ".,;:!?)]}»”’"


def first_link(text: str) -> str | None:
    """The first web link in a message, without the punctuation a sentence puts after it."""
    found = _LINK.search(text or "")
    return found.group(0).rstrip(_TRAILING) if found else None


class LinkCog(BotCog, name="Links"):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.menu = app_commands.ContextMenu(name="Summarise link", callback=self.summarise)
        self.per_member = Cooldown(self.settings.link_summaries_per_member, LINK_PERIOD_SECONDS)
        self.per_server = Cooldown(self.settings.link_summaries_per_server, LINK_PERIOD_SECONDS)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def summarise(self, interaction: discord.Interaction, message: discord.Message) -> None:
        url = first_link(message.content)
        if url is None:
            await self.responder.send(interaction, content=NO_LINK, ephemeral=True)
            return
        refusal = self._rate_refusal(interaction)
        if refusal is not None:
            await self.responder.send(interaction, content=refusal, ephemeral=True)
            return
        ephemeral = self.responder.ephemeral(None)
        guild = interaction.guild_id
        await self.responder.acknowledge(interaction, ephemeral=ephemeral)
        shared = await self.service.summarise_link(guild, interaction.user.id, url)
        view = None
        if guild is not None and shared.summary.found and self.gate.is_admin(interaction):
            member = interaction.user.id
            link_id = await self.records.run(
                lambda state: state.share_link(guild, member, shared.url)
            )
            view = discord.ui.View(timeout=None)
            view.add_item(AddLinkButton(link_id))
        await self.responder.send(
            interaction,
            embed=render.link_summary_embed(
                shared.summary, shared.title, shared.url, shared.source
            ),
            view=view,
            ephemeral=ephemeral,
        )

    def _rate_refusal(self, interaction: discord.Interaction) -> str | None:
        member_wait = self.per_member.retry_after(interaction.user.id)
        if member_wait > 0:
            return render.links_rate_text(member_wait, server=False)
        server_wait = self.per_server.retry_after(interaction.guild_id or interaction.user.id)
        if server_wait > 0:
            return render.links_rate_text(server_wait, server=True)
        return None

    async def add_shared(self, interaction: discord.Interaction, link_id: int) -> None:
        guild = self.gate.require_admin(interaction)
        url = await self.records.run(lambda state: state.shared_link(link_id, guild))
        if url is None:
            await self.responder.send(interaction, content=render.LINK_GONE, ephemeral=True)
            return
        articles = cog_of(self.bot, ArticlesCog)
        refusal = articles.rate_refusal(guild)
        if refusal is not None:
            await self.responder.send(interaction, content=refusal, ephemeral=True)
            return
        await self.responder.acknowledge(interaction, ephemeral=True)
        await articles.tell_added(interaction, guild, self.service.add_url(guild, url))


class AddLinkButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"addlink:(?P<link>[0-9]{1,18})"
):
    """Under a link's summary, for admins: add the page to the server's articles."""

    def __init__(self, link_id: int) -> None:
        self.link_id = link_id
        super().__init__(
            discord.ui.Button(
                label="Add to this server's articles",
                style=discord.ButtonStyle.primary,
                custom_id=f"addlink:{link_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> AddLinkButton:
        return cls(int(match["link"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await _cog(interaction).gate.check(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = _cog(interaction)
        async with cog.responder.reporting(interaction):
            await cog.add_shared(interaction, self.link_id)


def _cog(interaction: discord.Interaction) -> LinkCog:
    return cog_of(interaction.client, LinkCog)
