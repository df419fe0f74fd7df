"""The reply budget's rule on its own, with a clock the test turns: buckets refill over the
window, and a notice is said once per window."""

from __future__ import annotations

from bot.discord.budget import QUIET, REPLY, ReplyBudget


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def budget(clock: Clock) -> ReplyBudget:
    return ReplyBudget(per_member=2, per_channel=10, per_server=10, period=60, clock=clock)


def test_a_member_past_the_budget_hears_once_then_nothing_until_the_bucket_refills():
    clock = Clock()
    replies = budget(clock)
    assert [replies.admit(1, 2, 3) for _ in range(2)] == [REPLY, REPLY]
    notice = replies.admit(1, 2, 3)
    assert notice.action == "notice" and "about 30 s" in (notice.notice or "")
    assert [replies.admit(1, 2, 3) for _ in range(5)] == [QUIET] * 5
    assert replies.admit(1, 2, 4) == REPLY  # another member
    clock.now = 30.0  # one token back (2 per 60 s)
    assert replies.admit(1, 2, 3) == REPLY
    assert replies.admit(1, 2, 3) == QUIET  # the notice was said in this window
    clock.now = 91.0
    assert replies.admit(1, 2, 3) == REPLY


def test_direct_messages_have_no_server_budget():
    clock = Clock()
    replies = ReplyBudget(per_member=5, per_channel=5, per_server=1, period=60, clock=clock)
    assert [replies.admit(None, 9, 3).action for _ in range(3)] == ["reply"] * 3
