"""/feed add|remove and /feeds, and the poller that reads due feeds and posts new articles.

The poller wakes every FEED_CHECK_SECONDS; the feeds' own schedule (every
FEED_INTERVAL_MINUTES, backing off after failures) is kept in the database, so it survives
restarts. Each process polls the feeds of the servers on its shards (and the host's), and
posts their articles only to a channel of the server whose feed it came from. A new article
is claimed in the database, under a lease, before it is posted, and marked posted after: no
two processes post it, and one that dies holding it leaves it to the next once the lease runs
out. It is posted twice only if a process dies between the post reaching Discord and the
mark being committed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import tasks

from .. import render
from ..budget import TokenBuckets
from ..cogbase import BotCog, cog_of
from ..feedback.gaps import reask_gaps
from ..respond import NO_PINGS
from ..service import guild_of

if TYPE_CHECKING:
    from corpus.sources import UnpostedItem

    from .cog import ArticlesCog

__all__ = ["FeedsCog"]

_log = logging.getLogger(__name__)

POST_PERIOD_SECONDS = 3600.0
OVER_POST_BUDGET = (
    "More new articles came from this server's feeds than I post in an hour. The rest are "
    "added without a post: members can ask about them, and `/articles` lists them."
)


def _channel_refusal(channel: discord.TextChannel, guild_id: int) -> str | None:
    """Why new articles cannot be posted in `channel`, or None."""
    if channel.guild.id != guild_id:
        return "Pick a channel of this server."
    me = channel.guild.me
    allowed = channel.permissions_for(me) if me is not None else None
    if allowed is None or not (allowed.send_messages and allowed.embed_links):
        return (
            f"I can't post in <#{channel.id}>: give me Send Messages and Embed Links there, "
            "or pick another channel."
        )
    return None


class FeedsCog(BotCog, name="Feeds"):
    feed = app_commands.Group(
        name="feed",
        description="RSS and Atom feeds whose new articles this server follows (admins)",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.poller = tasks.loop(seconds=self.settings.feed_check_seconds)(self._poll)
        self.poller.before_loop(self._until_ready)
        # A feed can bring many items each poll, and a server can follow many feeds: its
        # channels get at most FEED_POSTS_PER_HOUR posts, and one notice an hour past that.
        self.posts = TokenBuckets(self.settings.feed_posts_per_hour, POST_PERIOD_SECONDS)
        self.over_budget_notices = TokenBuckets(1, POST_PERIOD_SECONDS)

    async def cog_load(self) -> None:
        self.poller.start()

    async def cog_unload(self) -> None:
        self.poller.cancel()

    @feed.command(name="add")
    @app_commands.describe(
        url="The feed's link (RSS or Atom)",
        channel="Post each new article here, with a short summary (default: post nowhere)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 1, 2000],
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Follow a feed: its new articles are added to this server's (admins only)."""
        guild_id = self.gate.require_admin(interaction)
        refusal = _channel_refusal(channel, guild_id) if channel is not None else None
        if refusal is not None:
            await self.responder.send(interaction, content=refusal, ephemeral=True)
            return
        refusal = self._articles().rate_refusal(guild_id)
        if refusal is not None:
            await self.responder.send(interaction, content=refusal, ephemeral=True)
            return
        await self.responder.acknowledge(interaction, ephemeral=True)
        result = await self.service.add_feed(guild_id, url.strip(), channel.id if channel else None)
        where = f" New articles will be posted in <#{channel.id}>." if channel else ""
        await self.responder.send(
            interaction,
            content=(
                f"Following **{render.echo(result.feed.title or result.feed.url, 200)}** "
                f"(feed `{result.feed.id}`): {len(result.added)} recent article(s) added."
                f"{where}"
            ),
            ephemeral=True,
        )
        if result.added:
            answered = await reask_gaps(self.service, self.records, guild_id)
            if answered:
                await self.responder.send(
                    interaction, content=render.reasked_text(answered), ephemeral=True
                )

    @feed.command(name="remove")
    @app_commands.describe(feed="The feed's number (see /feeds) or its link")
    async def remove(self, interaction: discord.Interaction, feed: str) -> None:
        """Stop following a feed; the articles it brought stay (admins only)."""
        guild_id = self.gate.require_admin(interaction)
        removed = await self.service.remove_feed(guild_id, feed)
        await self.responder.send(
            interaction,
            content=f"No longer following **{render.echo(removed.title or removed.url, 200)}**.",
            ephemeral=True,
        )

    @app_commands.command(name="feeds")
    @app_commands.guild_only()
    async def feeds(self, interaction: discord.Interaction) -> None:
        """The feeds this server follows, where they post, and how they are doing."""
        if interaction.guild_id is None:
            return
        followed = await self.service.feeds(interaction.guild_id)
        await self.responder.send(interaction, content=render.feeds_text(followed), ephemeral=True)

    def _articles(self) -> ArticlesCog:
        from .cog import ArticlesCog

        return cog_of(self.bot, ArticlesCog)

    # The poller

    async def _until_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def _poll(self) -> None:
        """One round: read the due feeds, then post what is new. Nothing here may end the
        loop: a failure is logged and the next round tries again."""
        try:
            results = await self.service.poll_feeds()
            for result in results:
                if result.error:
                    _log.warning("Feed %s: %s", result.feed.url, result.error)
            for item in await self.service.unposted():
                await self._post(item)
            # Servers whose feeds brought articles: their gap queues are asked again.
            for guild_id in sorted({guild_of(r.feed.collection) for r in results if r.added}):
                if guild_id is not None:
                    await reask_gaps(self.service, self.records, guild_id)
        except Exception:
            _log.exception("A round of feed polling failed")

    async def _post(self, item: UnpostedItem) -> None:
        guild_id = guild_of(item.collection)
        channel = self.bot.get_channel(item.channel_id)
        if channel is None and guild_id is not None and self.bot.get_guild(guild_id) is None:
            return  # the server is not available just now: try again next round
        if (
            guild_id is None
            or not isinstance(channel, discord.TextChannel)
            or channel.guild.id != guild_id
        ):
            if await self.service.claim(item):  # nowhere it may go: never try again
                await self.service.posted(item)
            _log.warning("Feed %s posts to a channel I cannot use; not posted.", item.feed_url)
            return
        if not await self.service.claim(item):
            return  # posted already, or being posted (by this process or another)
        # Marked posted either way: an item held back for later would stand in the queue
        # before other servers' items round after round.
        if not self.posts.try_take(guild_id):
            await self.service.posted(item)
            if self.over_budget_notices.try_take(guild_id):
                await self._send(channel, content=OVER_POST_BUDGET)
            return
        try:
            summary = await self.service.article_summary(guild_id, item.article.id)
            await self._send(channel, embed=render.feed_item_embed(item.article, summary))
        finally:  # marked whatever happened, unless this process dies first (the lease)
            await self.service.posted(item)

    async def _send(self, channel: discord.TextChannel, **message: Any) -> None:
        try:
            await channel.send(allowed_mentions=NO_PINGS, **message)
        except discord.HTTPException:
            _log.exception("Could not post a feed article to channel %s", channel.id)
