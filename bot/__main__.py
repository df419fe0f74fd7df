import sys

# Guarded: a big index build started from a thread spawns worker processes, which import
# the main module again.
if __name__ == "__main__":
    try:
        from .cli import main  # a Ctrl-C this early (numpy, pydantic load) is no traceback
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        raise SystemExit(130) from None
    raise SystemExit(main())
