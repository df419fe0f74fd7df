"""Moderation rules for the Discord front end, as plain functions and one small class.

Nothing here touches discord.py objects, so each rule is tested on its own.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable

__all__ = ["Cooldown", "is_admin", "is_allowed_channel", "question_from_mention"]


class Cooldown:
    """At most `rate` uses per `period` seconds per user (a sliding window)."""

    def __init__(
        self, rate: int, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.period = period
        self._clock = clock
        self._uses: dict[int, deque[float]] = {}

    def retry_after(self, user_id: int) -> float:
        """0 and the use is counted, or the seconds until the user may ask again."""
        now = self._clock()
        uses = self._uses.setdefault(user_id, deque())
        while uses and now - uses[0] >= self.period:
            uses.popleft()
        if len(uses) >= self.rate:
            return self.period - (now - uses[0])
        uses.append(now)
        if len(self._uses) > 10_000:  # forget idle users so memory stays bounded
            self._uses = {u: q for u, q in self._uses.items() if q and now - q[-1] < self.period}
        return 0.0


def is_allowed_channel(
    allowed: frozenset[int], channel_id: int | None, parent_id: int | None = None
) -> bool:
    """Everywhere when nothing is configured; threads count as their parent channel."""
    if not allowed:
        return True
    return channel_id in allowed or (parent_id is not None and parent_id in allowed)


def is_admin(admin_role_ids: frozenset[int], role_ids: Iterable[int], administrator: bool) -> bool:
    """Server administrators always; otherwise members holding a configured admin role."""
    return administrator or bool(admin_role_ids.intersection(role_ids))


def question_from_mention(content: str, bot_id: int) -> str:
    """The message without the mentions of the bot ("<@id>" or the older "<@!id>")."""
    return " ".join(re.sub(rf"<@!?{bot_id}>", " ", content).split())
