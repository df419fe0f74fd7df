"""Who may do what, where and how often: the checks every interaction and mention passes.

The rules themselves are pure functions in `moderation`; this module applies them to Discord
objects and answers a refusal itself.
"""

from __future__ import annotations

import discord
from discord.ext import commands

from corpus import too_long

from ..settings import Settings
from .budget import ReplyBudget
from .moderation import Cooldown, is_admin, is_allowed_channel
from .refusals import NotAdmin, NotHost, NotInServer
from .respond import Responder

__all__ = ["DISALLOWED_CHANNEL", "Gate"]

DISALLOWED_CHANNEL = "I only answer in the channels the moderators chose. Please ask there."

# Commands a member may use in any channel, whatever ALLOWED_CHANNEL_IDS says: what the bot
# keeps about them is theirs to see and delete from anywhere, direct messages included.
ANYWHERE = frozenset({"forget-me", "privacy show"})

# Autocomplete requests allowed per question a member may ask in the cooldown period.
AUTOCOMPLETE_PER_USE = 10


def _wait_message(wait: float) -> str | None:
    if wait <= 0:
        return None
    return f"You're asking quickly. Please try again in {max(1, round(wait))} s."


class Gate:
    def __init__(self, settings: Settings, responder: Responder) -> None:
        self.settings = settings
        self.responder = responder
        self.cooldown = Cooldown(settings.cooldown_rate, settings.cooldown_seconds)
        # Autocomplete fires as a member types: a looser limit of its own, so typing a search
        # does not use up the questions, while a script still cannot flood it.
        self.typing_cooldown = Cooldown(
            settings.cooldown_rate * AUTOCOMPLETE_PER_USE, settings.cooldown_seconds
        )
        # Replies nobody asked for with a command (to mentions, and to forum posts) per
        # member, channel and server: one budget for both, quiet past it.
        self.replies = ReplyBudget(
            per_member=settings.mention_replies_per_member,
            per_channel=settings.mention_replies_per_channel,
            per_server=settings.mention_replies_per_server,
            period=settings.mention_reply_window_seconds,
        )

    async def check(self, interaction: discord.Interaction, *, light: bool = False) -> bool:
        """The one check every interaction passes, whatever it is: the channel allowlist (but
        for the commands about a member's own data, ANYWHERE), then the member's cooldown.
        Answers the refusal itself (ephemerally; an empty list for autocomplete) and returns
        False. `light` work (a vote: one small write) counts
        against the looser limit autocomplete has, so voting does not use up questions."""
        parent = getattr(interaction.channel, "parent_id", None)
        typing = interaction.type is discord.InteractionType.autocomplete
        command = interaction.command
        refusal: str | None
        if command is not None and command.qualified_name in ANYWHERE:
            refusal = _wait_message(self.cooldown.retry_after(interaction.user.id))
        elif not is_allowed_channel(
            self.settings.allowed_channel_ids, interaction.channel_id, parent
        ):
            refusal = DISALLOWED_CHANNEL
        else:
            cooldown = self.typing_cooldown if typing or light else self.cooldown
            refusal = _wait_message(cooldown.retry_after(interaction.user.id))
        if refusal is None:
            return True
        if typing:
            await interaction.response.autocomplete([])
        else:
            await self.responder.send(interaction, content=refusal, ephemeral=True)
        return False

    async def admit(self, interaction: discord.Interaction, question: str) -> bool:
        """The length check (the gate has passed); answers the refusal itself."""
        refusal = self.too_long(question)
        if refusal:
            await self.responder.send(interaction, content=refusal, ephemeral=True)
        return refusal is None

    def mention_refusal(self, user_id: int, question: str) -> str | None:
        """For mentions, which no interaction check sees: the length limit, then the cooldown."""
        return self.too_long(question) or _wait_message(self.cooldown.retry_after(user_id))

    def too_long(self, question: str) -> str | None:
        limit = self.settings.max_question_length
        return too_long(len(question), limit) if len(question) > limit else None

    def is_admin(self, interaction: discord.Interaction) -> bool:
        user = interaction.user
        if not isinstance(user, discord.Member):
            return False  # direct messages have no admins
        roles = [role.id for role in user.roles]
        # interaction.permissions are the member's resolved permissions, sent with the event.
        # Manage Server counts: it is what the admin commands ask of members by default.
        permissions = interaction.permissions
        administrator = permissions.administrator or permissions.manage_guild
        return is_admin(self.settings.admin_role_ids, roles, administrator)

    async def require_host(self, interaction: discord.Interaction) -> None:
        """The host's articles are everyone's: only the bot's owner, or an admin of the
        host's own server (HOST_GUILD_ID), may change them. NotHost for anyone else."""
        client = interaction.client
        owner = isinstance(client, commands.Bot) and await client.is_owner(interaction.user)
        host = self.settings.host_guild_id
        if not (
            owner
            or (host is not None and interaction.guild_id == host and self.is_admin(interaction))
        ):
            raise NotHost

    def require_admin(self, interaction: discord.Interaction) -> int:
        """The server an admin asks in; NotInServer in direct messages, NotAdmin for a member
        who is not one."""
        if interaction.guild_id is None:
            raise NotInServer
        if not self.is_admin(interaction):
            raise NotAdmin
        return interaction.guild_id
