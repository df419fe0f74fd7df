"""Forum channels the bot answers in by itself: an admin names them (/forum answer), and
every new post there gets a reply with the quotes when the articles answer it confidently;
with the closest passage only if the admin opted in; and nothing at all when nothing is
relevant, never noise. Each post is answered once (bot/state records it), however often
Discord sends it.

The post is read by its title, and by its text too when the host turned on the message
content intent (READ_MESSAGE_CONTENT); a post that mentions the bot is a mention, answered
as one.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from . import render
from .cogbase import BotCog
from .moderation import is_allowed_channel
from .quotes.cog import answer_view
from .service import Scope

__all__ = ["ForumCog"]

_log = logging.getLogger(__name__)

# Forums one server may have answered automatically.
MAX_FORUMS_PER_SERVER = 10


class ForumCog(BotCog, name="Forums"):
    forum = app_commands.Group(
        name="forum",
        description="Forums where every new post gets an answer (admins)",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The forums answered, by server: channel → whether the closest passage is posted.
        self.watched: dict[int, dict[int, bool]] = {}

    async def cog_load(self) -> None:
        for forum in await self.records.run(lambda state: state.forums()):
            self.watched.setdefault(forum.guild_id, {})[forum.channel_id] = forum.closest

    @forum.command(name="answer")
    @app_commands.describe(
        channel="The forum whose new posts I answer",
        closest="Also post the closest passage when nothing answers confidently (default: no)",
    )
    async def answer(
        self,
        interaction: discord.Interaction,
        channel: discord.ForumChannel,
        closest: bool = False,
    ) -> None:
        """Answer every new post in a forum, with quotes from this server's articles."""
        guild = self.gate.require_admin(interaction)
        watched = self.watched.get(guild, {})
        refusal = None
        if not is_allowed_channel(self.settings.allowed_channel_ids, channel.id):
            refusal = "That forum is not among the channels the bot's host lets me answer in."
        elif channel.id not in watched and len(watched) >= MAX_FORUMS_PER_SERVER:
            refusal = f"I answer in {len(watched)} forums here already, the most I may."
        if refusal:
            await self.responder.send(interaction, content=refusal, ephemeral=True)
            return
        await self.records.run(lambda state: state.watch_forum(guild, channel.id, closest=closest))
        self.watched.setdefault(guild, {})[channel.id] = closest
        await self.responder.send(
            interaction, content=render.forum_watched_text(channel.id, closest), ephemeral=True
        )

    @forum.command(name="stop")
    @app_commands.describe(channel="The forum to stop answering in")
    async def stop(self, interaction: discord.Interaction, channel: discord.ForumChannel) -> None:
        """Stop answering new posts in a forum."""
        guild = self.gate.require_admin(interaction)
        removed = await self.records.run(lambda state: state.unwatch_forum(guild, channel.id))
        self.watched.get(guild, {}).pop(channel.id, None)
        text = (
            f"I no longer answer new posts in <#{channel.id}>."
            if removed
            else f"I was not answering posts in <#{channel.id}>."
        )
        await self.responder.send(interaction, content=text, ephemeral=True)

    @forum.command(name="list")
    async def listing(self, interaction: discord.Interaction) -> None:
        """The forums whose new posts I answer."""
        guild = self.gate.require_admin(interaction)
        text = render.forums_text(self.watched.get(guild, {}))
        await self.responder.send(interaction, content=text, ephemeral=True)

    def forget_server(self, guild_id: int) -> None:
        """The server's data is gone (bot/discord/privacy.py): so are its forums here."""
        self.watched.pop(guild_id, None)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        """A deleted forum is answered no more (and no longer counts towards the limit)."""
        if channel.id in self.watched.get(channel.guild.id, {}):
            guild = channel.guild.id
            await self.records.run(lambda state: state.unwatch_forum(guild, channel.id))
            self.watched[guild].pop(channel.id, None)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        channel = message.channel
        guild = message.guild
        if guild is None or not isinstance(channel, discord.Thread):
            return
        closest = self.watched.get(guild.id, {}).get(channel.parent_id or 0)
        # A forum post's first message has the post's (thread's) id.
        if closest is None or message.id != channel.id or message.author.bot:
            return
        me = self.bot.user
        if me is not None and any(u.id == me.id for u in message.mentions):
            return  # a mention: answered as one (bot/discord/quotes/cog.py)
        if not is_allowed_channel(self.settings.allowed_channel_ids, channel.id, channel.parent_id):
            return
        if self.gate.replies.admit(guild.id, channel.id, message.author.id).action != "reply":
            return
        claimed = await self.records.run(lambda state: state.claim_post(channel.id, guild.id))
        if claimed:
            await self._answer_post(message, channel, closest=closest)

    async def _answer_post(
        self, message: discord.Message, thread: discord.Thread, *, closest: bool
    ) -> None:
        question = " ".join(f"{thread.name} {message.content}".split())
        question = question[: self.settings.max_question_length]
        scope = Scope(thread.guild.id, thread.id, thread.parent_id)
        member = message.author.id
        try:
            pinned = await self.service.ask(question, scope=scope, member=member)
        except Exception:  # no articles, busy, too slow: in a forum, silence is the answer
            _log.info("A forum post was not answered", exc_info=True)
            return
        outcome = pinned.answer.outcome
        if outcome == "answer" or (outcome == "closest" and closest):
            answer_id = await self.answer_records.keep(scope, member, pinned)
            try:
                await self.responder.reply(
                    message,
                    embed=render.answer_embed(pinned.answer),
                    view=answer_view(pinned, answer_id, in_server=True),
                )
            except discord.HTTPException:
                _log.warning("Could not answer a forum post in %s", thread.id)
                return
        await self.answer_records.after(scope, member, question, pinned)
