"""The moderators' log: who asked what, where, and which sentences were quoted."""

from __future__ import annotations

import logging

import discord

from corpus.models import Answer

from . import render
from .respond import NO_PINGS

__all__ = ["write_mod_log"]

_log = logging.getLogger(__name__)


async def write_mod_log(
    client: discord.Client,
    log_channel_id: int | None,
    *,
    guild_id: int | None,
    user_id: int,
    channel_id: int | None,
    question: str,
    answer: Answer,
) -> None:
    """Log a question in the mod-log channel, if it is in the server the question was asked
    in (or it was a direct message): one server's questions are not another's to read."""
    if log_channel_id is None:
        return
    channel = client.get_channel(log_channel_id)
    if not isinstance(channel, discord.abc.Messageable):
        _log.warning("The mod-log channel %s is not a text channel I can see.", log_channel_id)
        return
    log_guild = getattr(getattr(channel, "guild", None), "id", None)
    if guild_id is not None and log_guild != guild_id:
        return
    try:
        await channel.send(
            render.mod_log_text(user_id, channel_id, question, answer), allowed_mentions=NO_PINGS
        )
    except discord.HTTPException:
        _log.exception("Could not write to the mod-log channel %s", log_channel_id)
