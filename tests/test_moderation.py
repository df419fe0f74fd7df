from __future__ import annotations

from bot.discord.moderation import Cooldown, is_admin, is_allowed_channel, question_from_mention


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cooldown_allows_rate_uses_per_period_then_says_how_long():
    clock = Clock()
    cooldown = Cooldown(rate=2, period=10, clock=clock)
    assert cooldown.retry_after(1) == 0 and cooldown.retry_after(1) == 0
    clock.now = 4
    assert cooldown.retry_after(1) == 6
    assert cooldown.retry_after(2) == 0  # per user
    clock.now = 10
    assert cooldown.retry_after(1) == 0


def test_allowed_channels():
    assert is_allowed_channel(frozenset(), 5)
    assert is_allowed_channel(frozenset({5}), 5)
    assert not is_allowed_channel(frozenset({5}), 6)
    assert is_allowed_channel(frozenset({5}), 7, parent_id=5)  # a thread in an allowed channel


def test_admins():
    assert is_admin(frozenset(), [], administrator=True)
    assert is_admin(frozenset({9}), [1, 9], administrator=False)
    assert not is_admin(frozenset({9}), [1], administrator=False)


def test_mention_is_stripped_in_both_forms():
    assert question_from_mention("<@42> Who leads?", 42) == "Who leads?"
    assert question_from_mention("Hey <@!42>, who leads?", 42) == "Hey , who leads?"
    assert question_from_mention("<@43> who?", 42) == "<@43> who?"
