"""The gap queue after a server's articles change: its questions are asked again, and those
the articles now answer leave it."""

from __future__ import annotations

import logging

from ..records import Records
from ..service import CorpusService, RequestRefused, Scope

__all__ = ["REASKED_AT_MOST", "reask_gaps"]

_log = logging.getLogger(__name__)

# The most asked gaps asked again after an article is added (each a question's work).
REASKED_AT_MOST = 50


async def reask_gaps(service: CorpusService, records: Records, guild_id: int) -> list[str]:
    """Ask the server's queued questions again; the ones now answered leave the queue and are
    returned (their latest wording)."""
    queued = await records.run(lambda state: state.gaps(guild_id, REASKED_AT_MOST))
    answered: dict[int, str] = {}
    for gap in queued:
        try:
            pinned = await service.ask(gap.question, scope=Scope(guild_id))
        except RequestRefused:  # busy: the rest stay queued, asked again at the next add
            break
        except Exception:
            _log.exception("Asking a queued question again failed")
            continue
        if pinned.answer.outcome == "answer":
            answered[gap.number] = gap.question
    if answered:
        await records.run(lambda state: state.close_gaps(guild_id, list(answered)))
    return list(answered.values())
