"""Members' data under their control: /forget-me, /privacy, the retention period, and a
server's data deleted a set time after the bot leaves it.

What is stored about members (bot/state): the questions they asked with the answers shown,
their votes, their questions in the gap queue, links they asked to have summarised, and the
mod-log messages about their questions. Each server keeps them for its retention period
(RETENTION_DAYS unless it sets its own); a sweep every hour deletes what is older, in the
database for real (bot/state/store.py) and the mod-log messages on Discord. Follow-ups are
remembered in memory only, for 30 minutes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from ..state.servers import guild_of
from ..state.store import MAX_RETENTION_DAYS
from . import render
from .cogbase import BotCog, cog_of
from .forums import ForumCog
from .modlog import delete_mod_log_messages

__all__ = ["SWEEP_SECONDS", "PrivacyCog"]

_log = logging.getLogger(__name__)

SWEEP_SECONDS = 3600.0
_DAY = 86_400.0


class PrivacyCog(BotCog, name="Privacy"):
    privacy = app_commands.Group(
        name="privacy", description="What the bot stores about members, and for how long"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sweeper = tasks.loop(seconds=SWEEP_SECONDS)(self.sweep)
        self.sweeper.before_loop(self.bot.wait_until_ready)

    async def cog_load(self) -> None:
        self.sweeper.start()

    async def cog_unload(self) -> None:
        self.sweeper.cancel()

    @app_commands.command(name="forget-me")
    async def forget_me(self, interaction: discord.Interaction) -> None:
        """Delete everything the bot stores about you, in every server."""
        member = interaction.user.id
        await self.responder.acknowledge(interaction, ephemeral=True)
        forgotten = await self.records.run(lambda state: state.forget_member(member))
        self.service.conversations.forget_member(member)
        await self.responder.send(
            interaction, content=render.forgotten_text(forgotten), ephemeral=True
        )
        await delete_mod_log_messages(self.bot, self.records)

    @privacy.command(name="show")
    async def show(self, interaction: discord.Interaction) -> None:
        """What the bot stores about members here, and for how long."""
        guild = interaction.guild_id
        days = await self.records.run(
            lambda state: (
                state.retention_days(guild) if guild is not None else state.default_retention_days
            )
        )
        await self.responder.send(
            interaction,
            embed=render.privacy_embed(days, self.settings.left_server_days),
            ephemeral=True,
        )

    @privacy.command(name="retention")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.describe(days="Keep members' questions, votes and links this many days")
    async def retention(
        self,
        interaction: discord.Interaction,
        days: app_commands.Range[int, 1, MAX_RETENTION_DAYS],
    ) -> None:
        """Set how long this server keeps what is stored about its members (admins)."""
        guild = self.gate.require_admin(interaction)
        await self.records.run(lambda state: state.set_retention_days(guild, days))
        await self.responder.send(
            interaction,
            content=f"Members' data in this server is now kept for {days} day(s); anything "
            "older has been deleted.",
            ephemeral=True,
        )
        await delete_mod_log_messages(self.bot, self.records)

    # The bot joining and leaving servers

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.records.run(lambda state: state.left_server(guild.id))

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.records.run(lambda state: state.joined_server(guild.id))

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Servers this process serves that hold data here but that the bot is no longer in
        (it was removed while it was down) are marked as left, from now."""
        present = {guild.id for guild in self.bot.guilds}
        try:
            known = await self.records.run(lambda state: state.known_servers())
            library = self.service.library
            if library is not None:
                names = await asyncio.to_thread(library.collections)
                known |= {guild for name in names if (guild := guild_of(name)) is not None}
            for guild_id in sorted(known - present):
                if self._serves(guild_id):
                    await self.records.run(lambda state, g=guild_id: state.left_server(g))
        except Exception:
            _log.exception("Looking for servers left while the bot was down failed")

    def _serves(self, guild_id: int) -> bool:
        """Whether the server is on one of this process's shards (with several processes,
        each sees only its shards' servers, and must leave the others' data alone)."""
        count = self.bot.shard_count or 1
        mine = getattr(self.bot, "shard_ids", None) or range(count)
        return (guild_id >> 22) % count in mine

    async def sweep(self, now: float | None = None) -> None:
        """Delete what is past its retention period, and the data of servers the bot left
        more than LEFT_SERVER_DAYS ago; then the mod-log messages of what was deleted. Never
        raises: the next sweep tries again."""
        when = time.time() if now is None else now
        try:
            await self.records.run(lambda state: state.expire(when))
            cutoff = when - self.settings.left_server_days * _DAY
            for guild_id in await self.records.run(lambda s: s.servers_left_before(cutoff)):
                if not self._serves(guild_id):
                    continue  # another process's server
                if self.bot.get_guild(guild_id) is not None:  # added back meanwhile
                    await self.records.run(lambda s, g=guild_id: s.joined_server(g))
                    continue
                await self.drop_server(guild_id)
            await delete_mod_log_messages(self.bot, self.records)
        except Exception:
            _log.exception("Deleting expired data failed; the next sweep tries again")

    async def drop_server(self, guild_id: int) -> None:
        if self.service.library is not None:
            articles = await self.service.drop_server(guild_id)
            _log.info(
                "Deleted the %d article(s) of server %s, which the bot left", articles, guild_id
            )
        await self.records.run(lambda state: state.drop_server(guild_id))
        cog_of(self.bot, ForumCog).forget_server(guild_id)
