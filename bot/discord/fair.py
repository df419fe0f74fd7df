"""Worker threads shared fairly between keys (Discord servers), so that one server's slow or
heavy work never holds up another's.

A plain thread pool serves work first come, first served: a server that queues fifty adds, or
two links that hang until their deadline, holds every thread while the next server waits.
Here each key has a queue of its own and a limit on how many of its items run at once, and a
free thread takes the next item from the keys in turn (round robin): a key that has just been
served goes to the back. So another key's first item waits for at most one item of each key
ahead of it, and never for a key's whole queue; and as long as the threads outnumber the keys
at their limit, it does not wait at all.

Items of one key run in the order they were submitted, at most `per_key` at a time (1 keeps a
server's library changes in order). Each key may have at most `max_waiting` items waiting: one
more is refused with `Busy`, which the caller turns into a polite refusal. Work the service
queues itself (an index catching up after an add) is submitted with `bounded=False`: it is
bounded by the requests that cause it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["Busy", "FairPool"]

T = TypeVar("T")


class Busy(Exception):
    """The key has as many items waiting as it may; try again when some are done."""

    def __init__(self, pool: str, key: Hashable, waiting: int) -> None:
        super().__init__(f"{pool}: {key!r} has {waiting} items waiting")
        self.pool = pool
        self.key = key
        self.waiting = waiting


@dataclass
class _Key:
    waiting: deque[tuple[Future[Any], Callable[[], Any]]] = field(default_factory=deque)
    running: int = 0


class FairPool:
    """`threads` worker threads (started as work arrives) shared round robin between keys."""

    def __init__(self, name: str, *, threads: int, per_key: int, max_waiting: int) -> None:
        if threads < 1 or per_key < 1 or max_waiting < 1:
            raise ValueError("threads, per_key and max_waiting must be at least 1")
        self.name = name
        self.threads = threads
        self.per_key = per_key
        self.max_waiting = max_waiting
        self._lock = threading.Condition()
        self._keys: dict[Hashable, _Key] = {}
        # Keys with items waiting, the one served longest ago first.
        self._turns: deque[Hashable] = deque()
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    def submit(self, key: Hashable, work: Callable[[], T], *, bounded: bool = True) -> Future[T]:
        """Queue `work` for `key`; its future. Raises Busy when the key's queue is full (only
        when `bounded`), RuntimeError after shutdown."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"The {self.name} pool is shut down.")
            state = self._keys.setdefault(key, _Key())
            if bounded and len(state.waiting) >= self.max_waiting:
                raise Busy(self.name, key, len(state.waiting))
            state.waiting.append((future, work))
            if key not in self._turns:
                self._turns.append(key)
            self._wake_or_start()
        return future

    def run(
        self, key: Hashable, work: Callable[[], T], *, bounded: bool = True
    ) -> asyncio.Future[T]:
        """`submit`, as an asyncio future of the running loop (cancelling it before the work
        starts takes the work off the queue)."""
        return asyncio.wrap_future(self.submit(key, work, bounded=bounded))

    def busy(self) -> int:
        """How many items wait or run, of every key."""
        with self._lock:
            return sum(len(state.waiting) + state.running for state in self._keys.values())

    def waiting(self, key: Hashable) -> int:
        with self._lock:
            state = self._keys.get(key)
            return len(state.waiting) if state else 0

    def shutdown(self) -> None:
        """Cancel what waits and let the workers end after their current item (not waited
        for: a fetch may be hanging until its deadline)."""
        with self._lock:
            self._closed = True
            for state in self._keys.values():
                for future, _ in state.waiting:
                    future.cancel()
                state.waiting.clear()
            self._turns.clear()
            self._lock.notify_all()

    # The workers

    def _wake_or_start(self) -> None:
        """Under the lock: have one more worker look for work, starting one if none is idle.
        `_idle` counts the idle workers not yet woken, so two items quickly after each other
        wake two workers, not the same one twice."""
        if self._idle > 0:
            self._idle -= 1
            self._lock.notify()
        elif len(self._workers) < self.threads:
            worker = threading.Thread(
                target=self._work, name=f"{self.name}-{len(self._workers)}", daemon=True
            )
            self._workers.append(worker)
            worker.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                taken = self._next()
                while taken is None:
                    if self._closed:
                        return
                    self._idle += 1
                    self._lock.wait()  # whoever wakes it has taken it off `_idle`
                    taken = self._next()
            key, future, work = taken
            try:
                result = work()
            except BaseException as error:  # the caller's to see, as a thread pool does
                future.set_exception(error)
            else:
                future.set_result(result)
            finally:
                del work, future  # no reference to a finished item's result while idle
                with self._lock:
                    self._finished(key)

    def _next(self) -> tuple[Hashable, Future[Any], Callable[[], Any]] | None:
        """Under the lock: the next item to run, from the first key in turn that is below
        its limit (it then goes to the back of the turns; a key at its limit keeps its
        place); None when nothing may run."""
        for place, key in enumerate(self._turns):
            state = self._keys[key]
            if state.running >= self.per_key:
                continue
            del self._turns[place]
            while state.waiting:
                future, work = state.waiting.popleft()
                if future.set_running_or_notify_cancel():  # False: cancelled while waiting
                    state.running += 1
                    if state.waiting:
                        self._turns.append(key)
                    return key, future, work
            self._forget_if_idle(key)
            return self._next()  # all of that key's items were cancelled: look again
        return None

    def _finished(self, key: Hashable) -> None:
        state = self._keys[key]
        state.running -= 1
        if state.waiting:
            # This worker may take another key's item next: another must look at this one.
            self._wake_or_start()
        else:
            self._forget_if_idle(key)

    def _forget_if_idle(self, key: Hashable) -> None:
        state = self._keys.get(key)
        if state is not None and not state.waiting and state.running == 0:
            del self._keys[key]
