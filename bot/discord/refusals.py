"""Refusals: what the bot declines to do for a member, and the words it says so in.

Checks raise a `Refusal` (an app-command `CheckFailure`, as discord.py's own checks do) and
never send anything themselves; `Responder.report` is the one place any of them becomes a
message, whether it came from a slash command, a message menu, a button or a select.
"""

from __future__ import annotations

from discord import app_commands

__all__ = [
    "NOT_ADMIN",
    "NOT_HOST",
    "NOT_IN_SERVER",
    "NotAdmin",
    "NotHost",
    "NotInServer",
    "Refusal",
]

NOT_ADMIN = "Only server admins (or the configured admin roles) can do that."
NOT_HOST = (
    "Only the bot's host can reload the articles every server shares. Your server's own "
    "articles are yours to change with /article."
)
NOT_IN_SERVER = "That belongs to a server: use it in a server's channel."


class Refusal(app_commands.CheckFailure):
    """The bot will not do this for this member; the message says why, for them."""


class NotAdmin(Refusal):
    def __init__(self) -> None:
        super().__init__(NOT_ADMIN)


class NotHost(Refusal):
    def __init__(self) -> None:
        super().__init__(NOT_HOST)


class NotInServer(Refusal):
    def __init__(self) -> None:
        super().__init__(NOT_IN_SERVER)
