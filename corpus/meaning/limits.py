"""How much the meaning stage encodes, and when: apart from the stage itself, so that reading
a limit (the command line's status line, `meaning_of`'s default) does not load it."""

from __future__ import annotations

__all__ = ["AHEAD_LIMIT", "QUESTION_TIME_LIMIT"]

# Collections up to this many sentences get every vector ahead of questions: about 25 minutes
# of one core for the largest (e5-small encodes 30-60 news sentences a second on one core).
AHEAD_LIMIT = 60_000
# Candidates encoded while a question waits, when their vectors are not there yet (about
# 150-250 ms): the best by the words they share with the question.
QUESTION_TIME_LIMIT = 8
