"""Each member's last exchange in a thread, so that a follow-up ("when was that?") is read
with it (corpus/answering/followup.py).

Kept in memory only, for FOLLOW_UP_SECONDS, at most MAX_CONVERSATIONS of them (the oldest
go first), and per member and channel: a follow-up is read with the member's own question,
never with another member's.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from corpus.answering.followup import Exchange

__all__ = ["FOLLOW_UP_SECONDS", "MAX_CONVERSATIONS", "Conversations"]

FOLLOW_UP_SECONDS = 30 * 60
MAX_CONVERSATIONS = 10_000


class Conversations:
    """The last exchange of each (channel, member), while it is fresh. Safe across threads."""

    def __init__(self, seconds: float = FOLLOW_UP_SECONDS, most: int = MAX_CONVERSATIONS) -> None:
        self.seconds = seconds
        self.most = most
        self._last: OrderedDict[tuple[int, int], tuple[float, Exchange]] = OrderedDict()
        self._lock = threading.Lock()

    def last(self, channel_id: int, user_id: int) -> Exchange | None:
        with self._lock:
            found = self._last.get((channel_id, user_id))
            if found is None or time.monotonic() - found[0] > self.seconds:
                return None
            return found[1]

    def remember(self, channel_id: int, user_id: int, exchange: Exchange) -> None:
        with self._lock:
            self._last[(channel_id, user_id)] = (time.monotonic(), exchange)
            self._last.move_to_end((channel_id, user_id))
            while len(self._last) > self.most:
                self._last.popitem(last=False)
