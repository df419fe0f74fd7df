import os
import signal
import sys

INTERRUPTED = 130


def _leave(code: int) -> None:
    """End with `code`. After a Ctrl-C, leave at once: CPython 3.11 remembers a KeyboardInterrupt
    that hit an exec() of a string (dataclasses and typing helpers do that while importing) even
    when it was caught, and its normal exit would then kill the process by SIGINT instead of
    returning our code."""
    if code != INTERRUPTED:
        raise SystemExit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stream: nothing more can be said on it
    os._exit(INTERRUPTED)


class _Interrupts:
    """A Ctrl-C while the engine loads is only noted, and acted on once loading is done (well
    within a second). Raised where it lands, it could come out of a weakref callback in the
    import machinery (printed as an ignored exception), or as another error (pydantic
    reports one during its schema building as a SchemaError)."""

    seen = False

    @classmethod
    def note(cls, signum: int, frame: object) -> None:
        cls.seen = True


def run() -> None:
    """The `quotebot` command and `python -m bot`."""
    signal.signal(signal.SIGINT, _Interrupts.note)  # while loading only
    from .cli import main

    if _Interrupts.seen:
        sys.stderr.write("Interrupted.\n")
        _leave(INTERRUPTED)
    # Python's own handler from here on: readline (chat) handles Ctrl-C with it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    code = main()
    # The work is done and reported: a Ctrl-C while the interpreter shuts down changes nothing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _leave(code)


# Guarded: a big index build started from a thread spawns worker processes, which import
# the main module again.
if __name__ == "__main__":
    run()
