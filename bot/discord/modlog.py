"""The moderators' log: who asked what, where, and which sentences were quoted."""

from __future__ import annotations

import logging

import discord

from corpus.models import Answer

from . import render
from .respond import NO_PINGS

__all__ = ["delete_mod_log_messages", "write_mod_log"]

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
) -> discord.Message | None:
    """Log a question in the mod-log channel, if it is in the server the question was asked
    in (or it was a direct message): one server's questions are not another's to read. The
    message posted, if one was (it is deleted with the member's data)."""
    if log_channel_id is None:
        return None
    channel = client.get_channel(log_channel_id)
    if not isinstance(channel, discord.abc.Messageable):
        _log.warning("The mod-log channel %s is not a text channel I can see.", log_channel_id)
        return None
    log_guild = getattr(getattr(channel, "guild", None), "id", None)
    if guild_id is not None and log_guild != guild_id:
        return None
    try:
        return await channel.send(
            render.mod_log_text(user_id, channel_id, question, answer), allowed_mentions=NO_PINGS
        )
    except discord.HTTPException:
        _log.exception("Could not write to the mod-log channel %s", log_channel_id)
        return None


async def delete_mod_log_messages(
    client: discord.Client, messages: list[tuple[int, int]] | tuple[tuple[int, int], ...]
) -> int:
    """Delete mod-log messages (channel id, message id) on Discord; how many went. One
    already deleted by a moderator counts as gone."""
    gone = 0
    for channel_id, message_id in messages:
        message = client.get_partial_messageable(channel_id).get_partial_message(message_id)
        try:
            await message.delete()
            gone += 1
        except discord.NotFound:
            gone += 1
        except discord.HTTPException:
            _log.warning("Could not delete the mod-log message %s", message_id)
    return gone
