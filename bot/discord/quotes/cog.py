"""The reading commands: /ask, /summary, /source, /about, /help, /reload, the "Ask the
article" message command, and questions asked by mentioning the bot.

A thin layer: it parses input, calls the corpus service, and renders the result. Admission is
the gate's, sending and error text the responder's.
"""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from corpus import LONGEST_ALLOWED_QUESTION, Exchange

from .. import render
from ..cogbase import BotCog
from ..feedback import feedback_buttons
from ..moderation import is_allowed_channel, question_from_mention
from ..service import PinnedAnswer, Scope, scope_of
from .context import ContextButton
from .reference import parse_reference

__all__ = ["QuoteCog", "answer_view"]

EMPTY_MENTION = "Ask me a question after the mention, for example: @me Who leads Mali's army?"
ARTICLES_CHANGED = "The articles have changed since this answer. Please ask again."
UNKNOWN_PARAGRAPH = "I don't know that paragraph. Pick one from the list as you type."
MALFORMED_PARAGRAPH = (
    "I don't know that paragraph: it should look like `shared/article-id#3`. Pick one from the "
    "list as you type."
)


class QuoteCog(BotCog, name="Quotes"):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ask_menu = app_commands.ContextMenu(
            name="Ask the article", callback=self.ask_from_message
        )

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.ask_menu)

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
        if not await self.gate.admit(interaction, topic or ""):
            return
        summary = await self.responder.in_time(
            interaction,
            self.service.summarize(
                length=length,
                topic=topic,
                user_id=interaction.user.id,
                scope=scope_of(interaction),
            ),
            ephemeral=self.responder.ephemeral(None),
        )
        await self.responder.send(interaction, embed=render.summary_embed(summary), ephemeral=None)

    @app_commands.command(name="source")
    @app_commands.describe(paragraph="The paragraph to show (start typing to search)")
    async def source(self, interaction: discord.Interaction, paragraph: str) -> None:
        """Show a cited paragraph in full, with the paragraphs around it."""
        reference = parse_reference(paragraph)
        if reference is None:
            await self.responder.send(interaction, content=MALFORMED_PARAGRAPH, ephemeral=True)
            return
        corpus = await self.service.corpus_holding(
            reference.set_name, reference.doc_id, scope_of(interaction)
        )
        shown = (
            corpus.paragraph_with_neighbours(reference.doc_id, reference.number)
            if corpus is not None
            else None
        )
        if shown is None:
            await self.responder.send(interaction, content=UNKNOWN_PARAGRAPH, ephemeral=True)
            return
        target, neighbours = shown
        await self.responder.send(
            interaction, embed=render.paragraph_embed(target, neighbours), ephemeral=None
        )

    @source.autocomplete("paragraph")
    async def source_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # A search, not a scan: autocomplete must answer fast however many articles there are.
        found = await self.service.find_paragraphs(current, 25, scope=scope_of(interaction))
        choices = []
        for set_name, paragraph, text in found:
            label = f"{paragraph.doc_id} ¶{paragraph.number}: {text}"
            name = label if len(label) <= 100 else label[:99] + "…"
            value = f"{set_name}/{paragraph.doc_id}#{paragraph.number}"[:100]
            choices.append(app_commands.Choice(name=name, value=value))
        return choices

    @app_commands.command(name="about")
    async def about(self, interaction: discord.Interaction) -> None:
        """Which articles I answer from, how big they are and how fresh the index is."""
        sets = await self.service.about(scope_of(interaction))
        await self.responder.send(interaction, embed=render.about_embed(sets), ephemeral=True)

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """How to ask me about the articles."""
        await self.responder.send(interaction, embed=render.help_embed(), ephemeral=True)

    @app_commands.command(name="reload")
    @app_commands.default_permissions(manage_guild=True)
    async def reload(self, interaction: discord.Interaction) -> None:
        """Rebuild the shared articles' index from their folder (the bot's host only)."""
        await self.gate.require_host(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        corpus = await self.service.reload()
        stats = corpus.stats()
        await self.responder.send(
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
        guild_id = message.guild.id if message.guild else None
        verdict = self.gate.replies.admit(guild_id, message.channel.id, message.author.id)
        if verdict.action != "reply":
            if verdict.notice is not None:
                await self.responder.reply(message, content=verdict.notice)
            return
        question = question_from_mention(message.content, me.id)
        refusal = (
            EMPTY_MENTION
            if not question
            else self.gate.mention_refusal(message.author.id, question)
        )
        if refusal:
            await self.responder.reply(message, content=refusal)
            return
        scope = Scope(guild_id, message.channel.id, parent)
        await self.answer_in_reply(message, question, scope)

    async def answer_in_reply(self, message: discord.Message, question: str, scope: Scope) -> None:
        """Answer a member's message in a reply: a mention, or a post in a forum the bot
        answers. A reply to one of the bot's answers is read with that answer's question."""
        reference = message.reference
        replying_to = (
            reference.message_id
            if reference is not None and reference.channel_id == message.channel.id
            else None
        )
        member = message.author.id
        try:
            pinned = await self.service.ask(
                question, scope=scope, member=member, replying_to=replying_to
            )
            answer_id = await self.answer_records.keep(scope, member, pinned)
            sent = await self.responder.reply(
                message,
                embed=render.answer_embed(pinned.answer),
                view=answer_view(pinned, answer_id, in_server=scope.guild_id is not None),
            )
        except Exception as exc:  # the member hears back whatever happened
            await self.responder.report_in_reply(message, exc)
            return
        self._remember_answer(sent.channel.id, sent.id, member, pinned)
        await self.answer_records.after(scope, member, question, pinned)

    # Shared steps

    async def _answer(
        self, interaction: discord.Interaction, question: str, *, public: bool | None
    ) -> None:
        if not await self.gate.admit(interaction, question):
            return
        ephemeral = self.responder.ephemeral(public)
        scope, member = scope_of(interaction), interaction.user.id

        async def asked_and_kept() -> tuple[PinnedAnswer, int | None]:
            pinned = await self.service.ask(question, scope=scope, member=member)
            return pinned, await self.answer_records.keep(scope, member, pinned)

        # Deferred if the answer and its record take long: the 3 s Discord allows cover both.
        busy = self.service.busy  # before this question is counted
        pinned, answer_id = await self.responder.in_time(
            interaction, asked_and_kept(), ephemeral=ephemeral, busy=busy
        )
        sent = await self.responder.send(
            interaction,
            embed=render.answer_embed(pinned.answer),
            view=answer_view(pinned, answer_id, in_server=scope.guild_id is not None),
            ephemeral=ephemeral,
        )
        if sent is not None and not ephemeral:  # only a public answer can be replied to
            self._remember_answer(interaction.channel_id or 0, sent, member, pinned)
        await self.answer_records.after(scope, member, question, pinned)

    def _remember_answer(
        self, channel_id: int, message_id: int, member: int, pinned: PinnedAnswer
    ) -> None:
        if pinned.answer.quotes:
            exchange = Exchange.of(pinned.answer)
            self.service.conversations.remember_answer(channel_id, message_id, member, exchange)

    async def show_context(
        self, interaction: discord.Interaction, corpus_hash: str, positions: list[int]
    ) -> None:
        corpus = await self.service.corpus_with_hash(corpus_hash, scope_of(interaction))
        shown = corpus.context(positions) if corpus is not None else None
        if shown is None:
            await self.responder.send(interaction, content=ARTICLES_CHANGED, ephemeral=True)
            return
        await self.responder.send(
            interaction, embed=render.context_embed(list(enumerate(shown, 1))), ephemeral=True
        )


def answer_view(
    pinned: PinnedAnswer, answer_id: int | None, *, in_server: bool
) -> discord.ui.View | None:
    """ "Show context" (naming the index the answer came from), and the feedback buttons when
    the answer was kept for them."""
    view = discord.ui.View(timeout=None)
    positions = pinned.corpus.sentence_ids(pinned.answer) if pinned.answer.found else []
    if positions:
        view.add_item(ContextButton(pinned.corpus.index.content_hash, positions))
    if answer_id is not None:
        # Moderators pick quotes in servers; direct messages have none.
        shown = in_server and bool(pinned.answer.shown)
        for button in feedback_buttons(answer_id, quotes_shown=shown):
            view.add_item(button)
    return view if view.children else None
