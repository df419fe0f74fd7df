"""Each member's last exchange in a thread, and the exchange each public answer message
holds, so that a follow-up ("when was that?") in the thread, or in a reply to the answer, is
read with it (corpus/answering/followup.py).

Kept in memory only, for FOLLOW_UP_SECONDS, at most MAX_CONVERSATIONS of each (the oldest go
first). In a thread, per member and channel: a follow-up is read with the member's own
question, never with another member's. A reply names the answer it follows itself.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from corpus import Exchange

__all__ = ["FOLLOW_UP_SECONDS", "MAX_CONVERSATIONS", "Conversations"]

FOLLOW_UP_SECONDS = 30 * 60
MAX_CONVERSATIONS = 10_000


class Conversations:
    """The last exchange of each (channel, member), while it is fresh. Safe across threads."""

    def __init__(self, seconds: float = FOLLOW_UP_SECONDS, most: int = MAX_CONVERSATIONS) -> None:
        self.seconds = seconds
        self.most = most
        self._last: OrderedDict[tuple[int, int], tuple[float, Exchange]] = OrderedDict()
        self._answers: OrderedDict[tuple[int, int], tuple[float, Exchange, int]] = OrderedDict()
        self._lock = threading.Lock()

    def last(self, channel_id: int, user_id: int) -> Exchange | None:
        with self._lock:
            return self._fresh(self._last.get((channel_id, user_id)))

    def remember(self, channel_id: int, user_id: int, exchange: Exchange) -> None:
        with self._lock:
            self._keep(self._last, (channel_id, user_id), (time.monotonic(), exchange))

    def of_answer(self, channel_id: int, message_id: int) -> Exchange | None:
        """The exchange a public answer message in this channel holds (a member replied)."""
        with self._lock:
            return self._fresh(self._answers.get((channel_id, message_id)))

    def remember_answer(
        self, channel_id: int, message_id: int, user_id: int, exchange: Exchange
    ) -> None:
        with self._lock:
            key = (channel_id, message_id)
            self._keep(self._answers, key, (time.monotonic(), exchange, user_id))

    def forget_member(self, user_id: int) -> None:
        """/forget-me: the member's exchanges go from memory too."""
        with self._lock:
            for key in [k for k in self._last if k[1] == user_id]:
                del self._last[key]
            for key in [k for k, v in self._answers.items() if v[2] == user_id]:
                del self._answers[key]

    def _fresh(self, found: tuple | None) -> Exchange | None:
        if found is None or time.monotonic() - found[0] > self.seconds:
            return None
        return found[1]

    def _keep(self, where: OrderedDict, key: object, value: tuple) -> None:
        where[key] = value
        where.move_to_end(key)
        while len(where) > self.most:
            where.popitem(last=False)
