"""The moderators' log: who asked what, where, and which sentences were quoted."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from corpus.models import Answer

from . import render
from .respond import NO_PINGS

if TYPE_CHECKING:
    from .records import Records

__all__ = ["delete_mod_log_messages", "write_mod_log"]

_log = logging.getLogger(__name__)

# Mod-log messages deleted per round of `delete_mod_log_messages`.
DELETE_BATCH = 100


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


async def delete_mod_log_messages(client: discord.Client, records: Records) -> int:
    """Delete on Discord the mod-log messages whose member data was deleted, as many as are
    waiting (a hundred at a time); how many went. A message is crossed off only once Discord
    says it is gone (or was already, or the bot may no longer see it): one that fails now is
    tried again at the next sweep."""
    gone = 0
    while doomed := await records.run(lambda state: state.doomed_messages(DELETE_BATCH)):
        deleted = []
        for channel_id, message_id in doomed:
            message = client.get_partial_messageable(channel_id).get_partial_message(message_id)
            try:
                await message.delete()
            except (discord.NotFound, discord.Forbidden):
                pass  # deleted by a moderator already, or no longer the bot's to see
            except discord.HTTPException:
                _log.warning("Could not delete the mod-log message %s; will try again", message_id)
                continue
            deleted.append(message_id)
        await records.run(lambda state, done=deleted: state.messages_deleted(done))
        gone += len(deleted)
        if len(deleted) < len(doomed):
            break  # Discord is failing: the rest wait for the next sweep
    return gone
