import signal
import sys

# Guarded: a big index build started from a thread spawns worker processes, which import
# the main module again.
if __name__ == "__main__":
    try:
        from .cli import main  # a Ctrl-C this early (numpy, pydantic load) is no traceback
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        raise SystemExit(130) from None
    code = main()
    # The work is done and reported: a Ctrl-C while the interpreter shuts down changes nothing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(code)
