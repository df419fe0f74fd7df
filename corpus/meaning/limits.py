"""How much the meaning stage encodes, and when: apart from the stage itself, so that reading
a limit (the command line's status line, `meaning_of`'s default) does not load it."""

from __future__ import annotations

__all__ = [
    "AHEAD_LIMIT",
    "QUESTION_TIME_CHARACTERS",
    "QUESTION_TIME_LIMIT",
    "QUESTION_WAIT_SECONDS",
]

# Collections up to this many sentences get every vector ahead of questions: about 25 minutes
# of one core for the largest (e5-small encodes 30-60 news sentences a second on one core).
AHEAD_LIMIT = 60_000
# Candidates encoded while a question waits, when their vectors are not there yet (about
# 150-250 ms): the best by the words they share with the question.
QUESTION_TIME_LIMIT = 8
# And at most this much of their text (the first candidate always): 8 news sentences with
# their headline are about 2,000 characters, but sentences of 2,000 characters would take
# seconds, and the encoding is bounded by what a question may cost, not by count alone.
QUESTION_TIME_CHARACTERS = 4_000
# A question that would wait longer than this for the questions using the encoder now (their
# number times the engine's recent seconds a question) is answered by its words alone: in a
# burst, every member gets an answer soon, rather than each waiting for everyone else's
# encoding (500 questions at once over a million passages answered 5 in 15 minutes). A
# question asked while no other uses the encoder always uses it.
QUESTION_WAIT_SECONDS = 4.0
