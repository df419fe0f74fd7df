"""/article add|remove|pin|unpin and /articles.

Changing a server's articles is for its admins (or the configured admin roles), and adds are
rate-limited per server. The service fetches, writes and indexes on worker threads, so none
of it blocks the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from pathlib import PurePath
from typing import Any

import discord
from discord import app_commands
from discord.ext import tasks

from corpus import MAX_BYTES, SUFFIXES

from .. import render
from ..cogbase import BotCog, cog_of
from ..feedback.gaps import reask_gaps
from ..moderation import Cooldown
from ..refusals import NotInServer
from ..respond import NO_PINGS
from ..service import SERVER, SHARED, Added, Scope, scope_of

__all__ = ["ArticlesCog"]

_log = logging.getLogger(__name__)

ADD_PERIOD_SECONDS = 3600.0
# How often the library is asked for changes made elsewhere (the command line, a bot process
# on another machine): one indexed query, so a change is answered from within a second.
LIBRARY_CHECK_SECONDS = 0.5
ONE_OF_URL_OR_FILE = "Give a link (`url:`) or attach a file (`file:`), one of the two."


class ArticlesCog(BotCog, name="Articles"):
    article = app_commands.Group(
        name="article",
        description="This server's own articles (admins change them)",
        guild_only=True,
        # Shown to members who can manage the server; a server can grant it to others (the
        # gate also lets ADMIN_ROLE_IDS through).
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Links, files and feeds a server may add per hour: a busy or hostile admin cannot
        # make the bot fetch without end.
        self.adds = Cooldown(self.settings.article_adds_per_hour, ADD_PERIOD_SECONDS)
        self.library_watch = tasks.loop(seconds=LIBRARY_CHECK_SECONDS)(self._follow_library)
        self._library_failing = False  # logged once until it works again

    async def cog_load(self) -> None:
        self.library_watch.start()

    async def cog_unload(self) -> None:
        self.library_watch.cancel()

    async def _follow_library(self) -> None:
        """Changes made elsewhere to the collections this process answers for, swapped in.
        Nothing here may end the loop: a failure is logged and the next check tries again."""
        try:
            await self.service.follow_library()
        except Exception:
            if not self._library_failing:
                _log.exception("Taking in changes to the library failed (tried again)")
            self._library_failing = True
        else:
            self._library_failing = False

    @article.command(name="add")
    @app_commands.describe(
        url="A link to the article (a news page, a PDF, a text or Markdown file)",
        file="Or attach the article: .txt, .md, .html or .pdf",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 1, 2000] | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        """Add an article to this server's articles (admins only)."""
        guild_id = self.gate.require_admin(interaction)
        if (url is None) == (file is None):
            await self.responder.send(interaction, content=ONE_OF_URL_OR_FILE, ephemeral=True)
            return
        refusal = self.attachment_refusal(file) if file is not None else None
        if refusal is None:
            refusal = self.rate_refusal(guild_id)
        if refusal is not None:
            await self.responder.send(interaction, content=refusal, ephemeral=True)
            return
        await self.responder.acknowledge(interaction, ephemeral=True)
        if file is not None:
            try:
                body = await file.read()
            except discord.HTTPException:
                await self.responder.send(
                    interaction,
                    content="I could not download that attachment from Discord. Try again.",
                    ephemeral=True,
                )
                return
            await self.tell_added(
                interaction, guild_id, self.service.add_file(guild_id, file.filename, body)
            )
        else:
            assert url is not None
            await self.tell_added(
                interaction, guild_id, self.service.add_url(guild_id, url.strip())
            )

    async def tell_added(
        self, interaction: discord.Interaction, guild_id: int, adding: Awaitable[Added]
    ) -> None:
        """Add the article and say so; then ask the gap queue again, and say which of its
        questions the new article answers."""
        added = await adding
        await self.responder.send(
            interaction,
            content=render.added_text(added.article, added.new, added.paragraphs, added.sentences),
            ephemeral=True,
        )
        if added.new:
            answered = await reask_gaps(self.service, self.records, guild_id)
            if answered:
                await self.responder.send(
                    interaction, content=render.reasked_text(answered), ephemeral=True
                )

    def attachment_refusal(self, file: discord.Attachment) -> str | None:
        suffix = PurePath(file.filename).suffix.casefold()
        if suffix not in SUFFIXES:
            return (
                f"I read {', '.join(SUFFIXES)} files; “{render.echo(file.filename, 80)}” is "
                "not one of them."
            )
        if file.size > MAX_BYTES:
            return f"That file is over {MAX_BYTES // (1024 * 1024)} MB; I take articles up to that."
        return None

    def rate_refusal(self, guild_id: int) -> str | None:
        wait = self.adds.retry_after(guild_id)
        if wait <= 0:
            return None
        return (
            "This server has added many articles in the last hour. Please try again in "
            f"{max(1, round(wait / 60))} min."
        )

    @article.command(name="remove")
    @app_commands.describe(article="The article to remove (start typing its title or id)")
    async def remove(self, interaction: discord.Interaction, article: str) -> None:
        """Remove an article from this server's articles (admins only)."""
        guild_id = self.gate.require_admin(interaction)
        await self.responder.acknowledge(interaction, ephemeral=True)
        removed = await self.service.remove(guild_id, article)
        await self.responder.send(
            interaction,
            content=f"Removed **{render.echo(removed.title, 200)}** ({render.code(removed.id)}).",
            ephemeral=True,
        )

    @remove.autocomplete("article")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        wanted = current.casefold()
        choices = []
        for stored in await self.service.articles(interaction.guild_id):
            if wanted in stored.id or wanted in stored.title.casefold():
                label = f"{stored.title} ({stored.id})"
                choices.append(app_commands.Choice(name=label[:100], value=stored.id[:100]))
        return choices[:25]

    @article.command(name="pin")
    @app_commands.describe(
        target="What this channel answers from: one article, this server's, or the shared set"
    )
    async def pin(self, interaction: discord.Interaction, target: str) -> None:
        """Make this channel answer from one article or one set only (admins only)."""
        self.gate.require_admin(interaction)
        scope = scope_of(interaction)
        set_name, _, article_id = target.partition("/")
        if set_name not in (SERVER, SHARED):
            await self.responder.send(
                interaction, content="Pick what to pin from the list as you type.", ephemeral=True
            )
            return
        await self.service.pin(
            Scope(scope.guild_id, scope.channel_id),
            set_name,
            article_id or None,  # type: ignore[arg-type]
        )
        what = (
            f"the article {render.code(article_id)}" if article_id else render.SET_LABELS[set_name]
        )
        await self.responder.send(
            interaction,
            content=f"This channel now answers from {what} only. `/article unpin` undoes it.",
            ephemeral=True,
        )

    @pin.autocomplete("target")
    async def pin_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        wanted = current.casefold()
        choices = []
        for set_name, stats in await self.service.about(Scope(interaction.guild_id)):
            label = render.SET_LABELS[set_name]
            if wanted in label.casefold():
                choices.append(app_commands.Choice(name=f"All: {label}"[:100], value=set_name))
            for document in stats.documents:
                if wanted in document.id or wanted in document.title.casefold():
                    name = f"{document.title} ({label})"[:100]
                    value = f"{set_name}/{document.id}"[:100]
                    choices.append(app_commands.Choice(name=name, value=value))
        return choices[:25]

    @article.command(name="unpin")
    async def unpin(self, interaction: discord.Interaction) -> None:
        """Let this channel answer from all the server's articles again (admins only)."""
        self.gate.require_admin(interaction)
        scope = scope_of(interaction)
        removed = await self.service.unpin(Scope(scope.guild_id, scope.channel_id))
        await self.responder.send(
            interaction,
            content="This channel answers from all the articles again."
            if removed
            else "This channel was not pinned.",
            ephemeral=True,
        )

    @app_commands.command(name="articles")
    @app_commands.guild_only()
    @app_commands.describe(page="Which page of the list (10 per page)")
    async def articles(
        self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 10_000] = 1
    ) -> None:
        """This server's own articles, newest first, with links and dates."""
        if interaction.guild_id is None:
            raise NotInServer
        stored = await self.service.articles(interaction.guild_id)
        await self.responder.send(
            interaction,
            embed=render.articles_embed(stored, page),
            view=pages_view(page, len(stored)),
            ephemeral=True,
        )

    async def show_page(self, interaction: discord.Interaction, page: int) -> None:
        """A Previous / Next button: the same list, another page, in the same message."""
        if interaction.guild_id is None:
            return
        stored = await self.service.articles(interaction.guild_id)
        await interaction.response.edit_message(
            embed=render.articles_embed(stored, page),
            view=pages_view(page, len(stored)),
            allowed_mentions=NO_PINGS,
        )


def pages_view(page: int, articles: int) -> discord.ui.View | None:
    """Previous and Next under a list longer than a page."""
    pages = render.page_count(articles)
    page = min(max(page, 1), pages)
    if pages == 1:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(PageButton(page - 1, "Previous", disabled=page == 1))
    view.add_item(PageButton(page + 1, "Next", disabled=page == pages))
    return view


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"articles:(?P<page>\d{1,5}):\w+"
):
    """Previous / Next under /articles. The custom id carries the page, so the buttons work
    after a restart; the list is read again, for the server of whoever presses."""

    def __init__(self, page: int, label: str, *, disabled: bool = False) -> None:
        self.page = page
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"articles:{max(page, 0)}:{label.casefold()}",
                disabled=disabled,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> PageButton:
        label = match.string.rpartition(":")[2].capitalize()
        return cls(int(match["page"]), label)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await _cog(interaction).gate.check(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).show_page(interaction, self.page)


def _cog(interaction: discord.Interaction) -> ArticlesCog:
    return cog_of(interaction.client, ArticlesCog)
