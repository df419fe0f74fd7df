"""What the bot's own store hands out: pydantic records, read-only."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = [
    "FeedbackReport",
    "Forgotten",
    "Forum",
    "Gap",
    "RatedAnswer",
    "ShownAnswer",
    "ShownQuote",
]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class ShownQuote(_Record):
    """A quote as a member saw it under an answer, with its citation."""

    text: str
    doc_id: str
    title: str
    start: int
    end: int
    url: str | None = None


class ShownAnswer(_Record):
    """An answer as it was given: the question, the quotes shown, how sure the model was."""

    id: int
    guild_id: int | None
    member_id: int
    question: str
    read_as: str | None = None  # a follow-up as it was read (with the earlier question)
    outcome: str
    confidence: float
    quotes: tuple[ShownQuote, ...]
    asked_at: float
    # The quote a moderator picked as the right one (its index in `quotes`), -1 when they
    # said none is; None until one picks.
    right_quote: int | None = None


class RatedAnswer(_Record):
    answer: ShownAnswer
    up: int
    down: int


class FeedbackReport(_Record):
    """A server's votes: the totals, and its worst-rated recent answers."""

    answers: int  # answers given in the retention period
    rated: int
    up: int
    down: int
    picked: int  # answers a moderator picked the right quote for
    worst: tuple[RatedAnswer, ...]


class Gap(_Record):
    """A question the articles did not answer, with the near-duplicates merged into it."""

    number: int  # in the server's queue; never given to another question of the server
    question: str  # the latest wording asked
    asked: int  # how many times (all wordings)
    members: int
    last_asked: float


class Forum(_Record):
    guild_id: int
    channel_id: int
    closest: bool  # also post the closest passage when nothing answers confidently


class Forgotten(_Record):
    """What /forget-me deleted, by kind, and the mod-log messages left to delete on Discord."""

    answers: int
    votes: int
    gap_questions: int
    shared_links: int
    mod_log_messages: tuple[tuple[int, int], ...]  # (channel id, message id), to delete
