"""How many replies to mentions the bot sends per member, channel and server.

A mention is not an interaction, so no Discord-side limit and no command cooldown stops one
member from making the bot post forty messages with forty mentions, or a crowd from filling a
channel. Every reply to a mention (an answer, a refusal, a hint) spends one token of the
member's, the channel's and the server's bucket; when one is empty, the bot says so once per
window in a short notice and otherwise stays quiet. Nothing here touches discord.py objects.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal

__all__ = ["QUIET", "REPLY", "ReplyBudget", "TokenBuckets", "Verdict"]

# A bucket that has filled up again is forgotten once this many are kept: memory stays bounded,
# and a full bucket is what a new one would be anyway.
MAX_KEPT_BUCKETS = 10_000


class TokenBuckets:
    """One bucket per key, holding at most `capacity` tokens and refilled at `capacity` per
    `period` seconds; a new key starts full."""

    def __init__(
        self, capacity: int, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = capacity
        self.per_second = capacity / period
        self._clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, as of)

    def wait(self, key: Hashable) -> float:
        """0 if `key` has a token now, else the seconds until it has one."""
        tokens = self._tokens(key, self._clock())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.per_second

    def try_take(self, key: Hashable) -> bool:
        """Take a token of `key` if it has one; whether it had."""
        if self.wait(key) > 0:
            return False
        self.take(key)
        return True

    def take(self, key: Hashable) -> None:
        now = self._clock()
        self._buckets[key] = (self._tokens(key, now) - 1, now)
        if len(self._buckets) > MAX_KEPT_BUCKETS:
            self._buckets = {
                k: (tokens, since)
                for k, (tokens, since) in self._buckets.items()
                if self._tokens(k, now) < self.capacity
            }

    def _tokens(self, key: Hashable, now: float) -> float:
        if key not in self._buckets:
            return float(self.capacity)
        tokens, since = self._buckets[key]
        return min(float(self.capacity), tokens + (now - since) * self.per_second)


@dataclass(frozen=True)
class Verdict:
    action: Literal["reply", "notice", "quiet"]
    notice: str | None = None  # what to say, for a notice


REPLY = Verdict("reply")
QUIET = Verdict("quiet")

Level = Literal["server", "channel", "member"]
NOTICES: dict[Level, str] = {
    "server": "I'm answering a lot of mentions in this server just now. I'll answer mentions "
    "again in about {seconds} s (slash commands still work).",
    "channel": "I'm answering a lot of mentions in this channel just now. I'll answer mentions "
    "here again in about {seconds} s.",
    "member": "You're mentioning me quickly. Please wait about {seconds} s; until then I won't "
    "reply to your mentions.",
}


class ReplyBudget:
    def __init__(
        self,
        *,
        per_member: int,
        per_channel: int,
        per_server: int,
        period: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._levels: list[tuple[Level, TokenBuckets]] = [
            ("server", TokenBuckets(per_server, period, clock)),
            ("channel", TokenBuckets(per_channel, period, clock)),
            ("member", TokenBuckets(per_member, period, clock)),
        ]
        # One notice per window for each member, channel or server that ran out.
        self._notices = TokenBuckets(1, period, clock)

    def admit(self, server_id: int | None, channel_id: int, member_id: int) -> Verdict:
        """Whether to reply to this mention, send the one notice, or stay quiet. A reply
        spends a token at every level; a notice, which is a message too, spends one at the
        levels above the one that ran out (the server's, for a channel's notice)."""
        keys = {"server": server_id, "channel": channel_id, "member": member_id}
        levels = [(name, buckets, keys[name]) for name, buckets in self._levels]
        levels = [(name, buckets, key) for name, buckets, key in levels if key is not None]
        for depth, (name, buckets, key) in enumerate(levels):
            wait = buckets.wait(key)
            if wait <= 0:
                continue
            if not self._notices.try_take((name, key)):
                return QUIET
            for _, above, above_key in levels[:depth]:  # each had a token: checked above
                above.take(above_key)
            return Verdict("notice", NOTICES[name].format(seconds=max(1, round(wait))))
        for _, buckets, key in levels:
            buckets.take(key)
        return REPLY
