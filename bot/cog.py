"""The Discord commands: a thin layer that parses input, calls the corpus, renders the result.

Every message the bot sends goes through `_send` or `_reply`, which set
`AllowedMentions.none()`, so text echoed from users can never ping anyone. Errors become user
text in `_error_message` only.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from corpus import CorpusError
from corpus.answering.question import LONGEST_ALLOWED_QUESTION, too_long
from corpus.models import Answer

from . import render_discord as render
from .moderation import Cooldown, is_admin, is_allowed_channel, question_from_mention
from .service import PinnedAnswer, RequestRefused
from .settings import Settings

if TYPE_CHECKING:
    from .service import CorpusService

__all__ = ["ContextButton", "QuoteCog"]

_log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
T = TypeVar("T")

DISALLOWED_CHANNEL = "I only answer in the channels the moderators chose. Please ask there."
EMPTY_MENTION = "Ask me a question after the mention, for example: @me Who leads Mali's army?"
NOT_ADMIN = "Only server admins (or the configured admin roles) can do that."
ARTICLES_CHANGED = "The articles have changed since this answer. Please ask again."
SOMETHING_WRONG = (
    "Sorry, something went wrong on my side. The moderators can find details in the log."
)


# Discord drops an interaction not acknowledged within 3 s: each attempt at the first response
# gets this long before it is abandoned and tried again as a deferral.
ACK_ATTEMPT_SECONDS = 0.8
ACK_ATTEMPTS = 3
ALREADY_ACKNOWLEDGED = 40060  # Discord's error code for a second acknowledgement

# Autocomplete requests allowed per question a member may ask in the cooldown period.
AUTOCOMPLETE_PER_USE = 10


def _wait_message(wait: float) -> str | None:
    if wait <= 0:
        return None
    return f"You're asking quickly. Please try again in {max(1, round(wait))} s."


class ContextButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ctx:(?P<corpus>[0-9a-f]{8}):(?P<positions>\d+(?:,\d+){0,9})",
):
    """ "Show context" under an answer. The custom id carries which sentences were quoted and
    which index they came from, so the button keeps working after a restart."""

    def __init__(self, corpus_hash: str, positions: list[int]) -> None:
        self.corpus_hash = corpus_hash[:8]
        self.positions = positions
        custom_id = f"ctx:{self.corpus_hash}:{','.join(map(str, positions[:10]))}"
        super().__init__(
            discord.ui.Button(
                label="Show context", style=discord.ButtonStyle.secondary, custom_id=custom_id
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ContextButton:
        return cls(match["corpus"], [int(p) for p in match["positions"].split(",")])

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await _cog(interaction).gate(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        await _cog(interaction).show_context(interaction, self.corpus_hash, self.positions)


def _positions(pinned: PinnedAnswer) -> list[int]:
    """Where the answering quotes sit in the index they were taken from."""
    positions = []
    for quote in pinned.answer.quotes:
        if quote.answers_question:
            span = pinned.index.spans[quote.citation.doc_id]
            positions.append(span.sentences.start + quote.citation.sentence_in_document - 1)
    return positions


def _cog(interaction: discord.Interaction) -> QuoteCog:
    cog = interaction.client.get_cog(QuoteCog.__cog_name__)
    assert isinstance(cog, QuoteCog)
    return cog


class QuoteCog(commands.Cog, name="Quotes"):
    def __init__(self, bot: commands.Bot, service: CorpusService, settings: Settings) -> None:
        self.bot = bot
        self.service = service
        self.settings = settings
        self.cooldown = Cooldown(settings.cooldown_rate, settings.cooldown_seconds)
        # Autocomplete fires as a member types: a looser limit of its own, so typing a search
        # does not use up the questions, while a script still cannot flood it.
        self.typing_cooldown = Cooldown(
            settings.cooldown_rate * AUTOCOMPLETE_PER_USE, settings.cooldown_seconds
        )
        # Answers that take longer than this are deferred, well inside Discord's 3 seconds.
        self.defer_after = 1.0
        self.ask_menu = app_commands.ContextMenu(
            name="Ask the article", callback=self.ask_from_message
        )

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.ask_menu)
        self.bot.tree.on_error = self.on_app_command_error
        # Every slash command, context menu and autocomplete passes the tree's check; the
        # "Show context" button calls the same gate.
        self.bot.tree.interaction_check = self.gate

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.ask_menu.name, type=self.ask_menu.type)

    # Slash commands

    @app_commands.command(name="ask")
    @app_commands.describe(
        question="What do you want to know about the articles?",
        public="Show the answer to everyone in the channel (default: only you)",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, LONGEST_ALLOWED_QUESTION],
        public: bool | None = None,
    ) -> None:
        """Answer a question with sentences quoted from the articles."""
        await self._answer(interaction, question, public=public)

    @app_commands.command(name="summary")
    @app_commands.describe(
        length="short: 3 sentences, medium: 5, long: 8 (default: short)",
        topic="Only what the articles say about this (a person, place or thing)",
    )
    async def summary(
        self,
        interaction: discord.Interaction,
        length: Literal["short", "medium", "long"] = "short",
        topic: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        """Summarise the articles in their own words, sentence by sentence."""
        if not await self._admit(interaction, topic or ""):
            return
        summary = await self._in_time(
            interaction,
            self.service.summarize(length=length, topic=topic, user_id=interaction.user.id),
            ephemeral=self._ephemeral(None),
        )
        await self._send(interaction, embed=render.summary_embed(summary), ephemeral=None)

    @app_commands.command(name="source")
    @app_commands.describe(paragraph="The paragraph to show (start typing to search)")
    async def source(self, interaction: discord.Interaction, paragraph: str) -> None:
        """Show a cited paragraph in full, with the paragraphs around it."""
        views = self._paragraph_views(paragraph)
        if views is None:
            await self._send(
                interaction,
                content="I don't know that paragraph. Pick one from the list as you type.",
                ephemeral=True,
            )
            return
        target, neighbours = views
        await self._send(
            interaction, embed=render.paragraph_embed(target, neighbours), ephemeral=None
        )

    @source.autocomplete("paragraph")
    async def source_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        corpus = self.service.corpus
        # A search, not a scan: autocomplete must answer fast however many articles there are.
        paragraphs = await self.service.find_paragraphs(current, 25)
        choices = []
        for paragraph in paragraphs:
            label = f"{paragraph.doc_id} ¶{paragraph.number}: {corpus.paragraph_text(paragraph)}"
            name = label if len(label) <= 100 else label[:99] + "…"
            value = f"{paragraph.doc_id}#{paragraph.number}"
            choices.append(app_commands.Choice(name=name, value=value))
        return choices

    @app_commands.command(name="about")
    async def about(self, interaction: discord.Interaction) -> None:
        """Which articles I answer from, how big they are and how fresh the index is."""
        await self._send(
            interaction, embed=render.about_embed(self.service.corpus.stats()), ephemeral=True
        )

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """How to ask me about the articles."""
        await self._send(interaction, embed=render.help_embed(), ephemeral=True)

    @app_commands.command(name="reload")
    @app_commands.default_permissions(manage_guild=True)
    async def reload(self, interaction: discord.Interaction) -> None:
        """Rebuild the index from the seeds directory (admins only)."""
        if not self._is_admin(interaction):
            await self._send(interaction, content=NOT_ADMIN, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        corpus = await self.service.reload()
        stats = corpus.stats()
        await self._send(
            interaction,
            content=(
                f"Reloaded: {len(stats.documents)} article(s), {stats.sentences} sentences "
                f"(index {corpus.cache_status} in {corpus.open_seconds * 1000:.0f} ms)."
            ),
            ephemeral=True,
        )

    async def ask_from_message(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """The "Ask the article" message command: the selected message is the question."""
        await self._answer(interaction, message.content, public=None)

    # Mentions

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot or message.webhook_id is not None:
            return
        if message.author.id == me.id or not any(u.id == me.id for u in message.mentions):
            return
        parent = getattr(message.channel, "parent_id", None)
        if not is_allowed_channel(self.settings.allowed_channel_ids, message.channel.id, parent):
            return  # silent: answering elsewhere would defeat the moderators' choice
        question = question_from_mention(message.content, me.id)
        if not question:
            await self._reply(message, content=EMPTY_MENTION)
            return
        refusal = self._refusal(message.author.id, question)
        if refusal:
            await self._reply(message, content=refusal)
            return
        try:
            pinned = await self.service.ask(question)
            answer = pinned.answer
            await self._reply(
                message, embed=render.answer_embed(answer), view=self._answer_view(pinned)
            )
        except Exception as exc:  # the member hears back whatever happened
            if not isinstance(exc, CorpusError | RequestRefused):
                _log.error("Answering a mention failed", exc_info=exc)
            try:
                await self._reply(message, content=self._error_message(exc))
            except discord.HTTPException:
                _log.exception("Could not tell the member about the error")
            return
        await self._mod_log(message.author.id, message.channel.id, question, answer)

    # Shared steps

    async def _answer(
        self, interaction: discord.Interaction, question: str, *, public: bool | None
    ) -> None:
        if not await self._admit(interaction, question):
            return
        ephemeral = self._ephemeral(public)
        pinned = await self._in_time(interaction, self.service.ask(question), ephemeral=ephemeral)
        answer = pinned.answer
        await self._send(
            interaction,
            embed=render.answer_embed(answer),
            view=self._answer_view(pinned),
            ephemeral=ephemeral,
        )
        await self._mod_log(interaction.user.id, interaction.channel_id, question, answer)

    async def gate(self, interaction: discord.Interaction) -> bool:
        """The one check every interaction passes, whatever it is: the channel allowlist, then
        the member's cooldown. Answers the refusal itself (ephemerally; an empty list for
        autocomplete) and returns False."""
        parent = getattr(interaction.channel, "parent_id", None)
        typing = interaction.type is discord.InteractionType.autocomplete
        if not is_allowed_channel(
            self.settings.allowed_channel_ids, interaction.channel_id, parent
        ):
            refusal: str | None = DISALLOWED_CHANNEL
        else:
            cooldown = self.typing_cooldown if typing else self.cooldown
            refusal = _wait_message(cooldown.retry_after(interaction.user.id))
        if refusal is None:
            return True
        if typing:
            await interaction.response.autocomplete([])
        else:
            await self._send(interaction, content=refusal, ephemeral=True)
        return False

    async def _admit(self, interaction: discord.Interaction, question: str) -> bool:
        """The length check (the gate has passed); answers the refusal itself."""
        refusal = self._too_long(question)
        if refusal:
            await self._send(interaction, content=refusal, ephemeral=True)
        return refusal is None

    def _refusal(self, user_id: int, question: str) -> str | None:
        """For mentions, which no gate sees: the length limit, then the cooldown."""
        return self._too_long(question) or _wait_message(self.cooldown.retry_after(user_id))

    def _too_long(self, question: str) -> str | None:
        limit = self.settings.max_question_length
        return too_long(len(question), limit) if len(question) > limit else None

    async def _in_time(
        self, interaction: discord.Interaction, work: Awaitable[T], *, ephemeral: bool
    ) -> T:
        """Run `work`; if it is not done within `defer_after`, defer so Discord keeps waiting."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        if not done and not interaction.response.is_done():
            await self._acknowledge(interaction, ephemeral=ephemeral)
        return await task

    async def _first_response(self, respond: Callable[[], Awaitable[Any]]) -> bool:
        """Try the full response while Discord's 3 s allow it. discord.py backs off 1 s, then
        3 s, after a server error (and waits out a 429 however long): if the response has not
        landed within ACK_ATTEMPT_SECONDS it is abandoned, and False says to acknowledge
        with a deferral and send the content as a follow-up instead."""
        try:
            await asyncio.wait_for(respond(), ACK_ATTEMPT_SECONDS)
        except (TimeoutError, discord.DiscordServerError):
            return False
        return True

    async def _acknowledge(self, interaction: discord.Interaction, *, ephemeral: bool) -> None:
        """Defer ("thinking…"), each attempt cut short the same way, until one lands."""
        for _ in range(ACK_ATTEMPTS):
            if interaction.response.is_done():
                return
            try:
                if await self._first_response(
                    lambda: interaction.response.defer(ephemeral=ephemeral, thinking=True)
                ):
                    return
            except discord.HTTPException as error:
                if error.code == ALREADY_ACKNOWLEDGED:  # an abandoned attempt had landed
                    return
                raise
        _log.warning("Discord did not take the acknowledgement of an interaction in time.")

    def _ephemeral(self, public: bool | None) -> bool:
        return self.settings.ephemeral_by_default if public is None else not public

    def _answer_view(self, pinned: PinnedAnswer) -> discord.ui.View | None:
        """The "Show context" button, naming the index the answer came from."""
        if not pinned.answer.found:
            return None
        positions = _positions(pinned)
        if not positions:
            return None
        view = discord.ui.View(timeout=None)
        view.add_item(ContextButton(pinned.index.content_hash, positions))
        return view

    async def show_context(
        self, interaction: discord.Interaction, corpus_hash: str, positions: list[int]
    ) -> None:
        index = self.service.corpus.index
        if not index.content_hash.startswith(corpus_hash) or max(positions) >= len(index.sentences):
            await self._send(interaction, content=ARTICLES_CHANGED, ephemeral=True)
            return
        views = []
        for n, position in enumerate(positions, start=1):
            sentence = index.sentences[position]
            span = index.spans[sentence.doc_id]
            paragraph = index.paragraphs[index.paragraph_of(sentence)]
            views.append(
                (
                    n,
                    render.ParagraphView(
                        doc_id=sentence.doc_id,
                        title=span.document.title,
                        number=paragraph.number,
                        text=index.text_slice(sentence.doc_id, paragraph.start, paragraph.end),
                        highlight=(
                            sentence.start - paragraph.start,
                            sentence.end - paragraph.start,
                        ),
                    ),
                )
            )
        await self._send(interaction, embed=render.context_embed(views), ephemeral=True)

    def _paragraph_views(
        self, value: str
    ) -> tuple[render.ParagraphView, list[render.ParagraphView]] | None:
        doc_id, _, number_text = value.rpartition("#")
        corpus = self.service.corpus
        if doc_id not in corpus.index.spans or not number_text.isdigit():
            return None
        paragraphs = corpus.paragraphs(doc_id)
        number = int(number_text)
        if not 1 <= number <= len(paragraphs):
            return None
        title = corpus.index.spans[doc_id].document.title

        def view(p: int) -> render.ParagraphView:
            paragraph = paragraphs[p - 1]
            return render.ParagraphView(doc_id, title, p, corpus.paragraph_text(paragraph))

        neighbours = [view(p) for p in (number - 1, number + 1) if 1 <= p <= len(paragraphs)]
        return view(number), neighbours

    def _is_admin(self, interaction: discord.Interaction) -> bool:
        user = interaction.user
        if not isinstance(user, discord.Member):
            return False  # direct messages have no admins
        roles = [role.id for role in user.roles]
        # interaction.permissions are the member's resolved permissions, sent with the event.
        administrator = interaction.permissions.administrator
        return is_admin(self.settings.admin_role_ids, roles, administrator)

    async def _mod_log(
        self, user_id: int, channel_id: int | None, question: str, answer: Answer
    ) -> None:
        channel_id_for_log = self.settings.mod_log_channel_id
        if channel_id_for_log is None:
            return
        channel = self.bot.get_channel(channel_id_for_log)
        if not isinstance(channel, discord.abc.Messageable):
            _log.warning(
                "The mod-log channel %s is not a text channel I can see.", channel_id_for_log
            )
            return
        try:
            await channel.send(
                render.mod_log_text(user_id, channel_id, question, answer),
                allowed_mentions=NO_PINGS,
            )
        except discord.HTTPException:
            _log.exception("Could not write to the mod-log channel %s", channel_id_for_log)

    # Sending, and the one place errors become text

    async def _send(
        self,
        interaction: discord.Interaction,
        *,
        content: str | None = None,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
        ephemeral: bool | None,
    ) -> None:
        ephemeral = self._ephemeral(None) if ephemeral is None else ephemeral
        extra: dict[str, Any] = {"view": view} if view is not None else {}
        if embed is not None:
            extra["embed"] = embed
        if not interaction.response.is_done():
            landed = await self._first_response(
                lambda: interaction.response.send_message(
                    content=content, ephemeral=ephemeral, allowed_mentions=NO_PINGS, **extra
                ),
            )
            if landed:
                return
            await self._acknowledge(interaction, ephemeral=ephemeral)
        await interaction.followup.send(
            content=content, ephemeral=ephemeral, allowed_mentions=NO_PINGS, **extra
        )

    async def _reply(
        self,
        message: discord.Message,
        *,
        content: str | None = None,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
    ) -> None:
        extra: dict[str, Any] = {"view": view} if view is not None else {}
        await message.reply(
            content=content, embed=embed, allowed_mentions=NO_PINGS, mention_author=False, **extra
        )

    def _error_message(self, error: BaseException) -> str:
        if isinstance(error, CorpusError | RequestRefused):
            return render.echo(str(error), render.CONTENT_LIMIT)
        return SOMETHING_WRONG

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if not isinstance(cause, CorpusError | RequestRefused):
            command = interaction.command.name if interaction.command else "?"
            _log.error("Command %s failed", command, exc_info=cause)
        try:
            await self._send(interaction, content=self._error_message(cause), ephemeral=True)
        except discord.HTTPException:
            _log.exception("Could not tell the user about the error")
