"""A server's rated answers as a question file `eval` reads, so its members grow a held-out
set: one JSON object per line, `{"id", "question", "answers": [gold substrings]}`.

The gold is what members and moderators said: the quote a moderator picked as right; else,
for an answer voted more 👍 than 👎, the quote it showed first (or, for a question the bot
declined, no answer: the articles do not say). A follow-up is written as it was read, with the
earlier question's words. An answer voted down, a closest passage voted up (shown as no
answer, it may or may not be one), or one a moderator said none of the shown quotes is right
for, says too little about what is right: it is left out (and counted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .records import RatedAnswer

__all__ = ["Exported", "question_rows"]


@dataclass(frozen=True)
class Exported:
    rows: list[dict[str, Any]]
    without_gold: int  # voted down, or no shown quote right, with no right quote known


def question_rows(rated: Iterable[RatedAnswer]) -> Exported:
    rows, without_gold = [], 0
    for item in rated:
        answer = item.answer
        gold: list[str] | None = None
        if answer.right_quote is not None:
            if 0 <= answer.right_quote < len(answer.quotes):
                gold = [answer.quotes[answer.right_quote].text]
        elif item.up > item.down and answer.outcome != "closest":
            # (a closest passage voted up may be right or not: it was shown as no answer)
            gold = [answer.quotes[0].text] if answer.outcome == "answer" else []
        if gold is None:
            without_gold += 1
            continue
        rows.append(
            {
                "id": f"feedback-{answer.id}",
                "question": answer.read_as or answer.question,
                "answers": gold,
                "votes": {"up": item.up, "down": item.down},
            }
        )
    return Exported(rows, without_gold)
