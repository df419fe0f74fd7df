from .cli import main

# Guarded: a big index build started from a thread spawns worker processes, which import
# the main module again.
if __name__ == "__main__":
    raise SystemExit(main())
