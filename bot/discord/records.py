"""The bot's own state (bot/state) from the event loop, and what happens to every answer.

Every read and write of the state runs on threads of its own, never on the event loop: one,
in turn, for the SQLite file (its writers take turns anyway); a few with PostgreSQL, whose
inserts run side by side, so an answer kept waits for no other's gap or mod-log entry.
`AnswerRecords.keep` stores an answer as it is shown, before it is sent (its 👍 / 👎 buttons
carry its id); `after` then queues it in the gap queue when the articles did not answer, and
writes the moderators' log. Neither ever keeps a member from their answer: a failure is
logged, and the answer goes out without buttons.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import discord

from ..state import BotState
from .modlog import write_mod_log
from .service import PinnedAnswer, Scope

__all__ = ["AnswerRecords", "Records"]

_log = logging.getLogger(__name__)
T = TypeVar("T")

# How long an answer waits to be stored before it is sent without its feedback buttons.
KEEP_SECONDS = 1.5
# Threads using the state when it is in PostgreSQL, for answers and for the rest each (the
# state's pool has a connection for every one: bot/state/store.py).
POSTGRES_THREADS = 4


class Records:
    """The state, asked from the event loop: `await records.run(lambda state: ...)`."""

    def __init__(self, state: BotState) -> None:
        self.state = state
        self.closed = False  # the bot is shutting down: work still arriving is dropped
        threads = 1 if state.in_file else POSTGRES_THREADS
        self._thread = ThreadPoolExecutor(threads, thread_name_prefix="state")
        # Answers kept as they are shown have a thread of their own: a member waiting for
        # their answer never queues behind gap-queue or mod-log work.
        self._keeping = ThreadPoolExecutor(threads, thread_name_prefix="state-answers")

    async def run(self, work: Callable[[BotState], T], *, answer: bool = False) -> T:
        """`work` on a state thread; `answer`: keeping an answer a member waits for."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._keeping if answer else self._thread, work, self.state
        )

    def close(self) -> None:
        self.closed = True
        for pool in (self._thread, self._keeping):
            pool.shutdown(wait=False, cancel_futures=True)
        self.state.close()


class AnswerRecords:
    def __init__(
        self, client: discord.Client, records: Records, mod_log_channel_id: int | None
    ) -> None:
        self.client = client
        self.records = records
        self.mod_log_channel_id = mod_log_channel_id

    async def keep(self, scope: Scope, member_id: int, pinned: PinnedAnswer) -> int | None:
        """The answer stored as shown; its id, or None when it could not be stored within
        KEEP_SECONDS (the answer then goes out without its buttons, in time)."""
        try:
            return await asyncio.wait_for(
                self.records.run(
                    lambda state: state.record_answer(
                        guild_id=scope.guild_id,
                        channel_id=scope.channel_id,
                        member_id=member_id,
                        answer=pinned.answer,
                    ),
                    answer=True,
                ),
                KEEP_SECONDS,
            )
        except TimeoutError:
            _log.warning("Keeping an answer for its votes took over %s s", KEEP_SECONDS)
            return None
        except Exception:
            self._failed("Could not keep an answer for its votes")
            return None

    async def after(
        self, scope: Scope, member_id: int, question: str, pinned: PinnedAnswer
    ) -> None:
        """Once the member has their answer: the gap queue, then the mod log."""
        answer = pinned.answer
        if scope.guild_id is not None and answer.outcome != "answer":
            # A follow-up as it was read ("when was that?" alone means nothing to a moderator).
            await self._queue_gap(scope.guild_id, member_id, answer.read_as or question, pinned)
        posted = await write_mod_log(
            self.client,
            self.mod_log_channel_id,
            guild_id=scope.guild_id,
            user_id=member_id,
            channel_id=scope.channel_id,
            question=question,
            answer=answer,
        )
        if posted is not None:
            try:
                await self.records.run(
                    lambda state: state.record_mod_log(
                        channel_id=posted.channel.id,
                        message_id=posted.id,
                        guild_id=scope.guild_id,
                        member_id=member_id,
                    )
                )
            except Exception:
                self._failed("Could not record a mod-log message")

    async def _queue_gap(
        self, guild_id: int, member_id: int, question: str, pinned: PinnedAnswer
    ) -> None:
        """A question the articles did not answer, for the moderators' /gaps (merged with the
        same question asked before: by the encoder's vector when it is loaded)."""
        try:
            vector = await asyncio.to_thread(pinned.corpus.question_vector, question)
            await self.records.run(
                lambda state: state.queue_gap(guild_id, member_id, question, vector)
            )
        except Exception:
            self._failed("Could not queue a question in the gap queue")

    def _failed(self, what: str) -> None:
        """Log a failure, but not one of the shutting down: an answer sent as the bot stops
        finds the state closed, and that is no fault."""
        if self.records.closed:
            _log.info("%s: the bot is stopping", what)
        else:
            _log.exception(what)
