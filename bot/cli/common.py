"""What every command of the command line shares: exit codes, the usage error, the program's
name as the user typed it, a command with examples, and printing (made safe for terminals)."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import render

__all__ = [
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "Command",
    "UsageError",
    "chosen_articles",
    "print_error",
    "print_out",
    "program_name",
    "subcommand",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

# How a module adds its commands: command(name, help, examples) gives its parser.
Command = Callable[[str, str, list[str]], argparse.ArgumentParser]


class UsageError(Exception):
    """The command line itself is wrong (a missing file, a malformed batch line)."""


def program_name() -> str:
    """How the user ran us, for usage lines: `quotebot`, or `python -m bot`."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name and name not in ("__main__.py", "-c", "-m") else "python -m bot"


def subcommand(
    group: Any, prefix: str, name: str, help: str, examples: list[str]
) -> argparse.ArgumentParser:
    """A command of `group` (argparse's subparsers), its help with examples run as
    `prefix name EXAMPLE`."""
    lines = "\n".join(f"  {prefix} {name} {e}".rstrip() for e in examples)
    return group.add_parser(
        name,
        help=help,
        description=help[:1].upper() + help[1:] + ".",
        epilog=f"Examples:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def chosen_articles(args: argparse.Namespace) -> str:
    """The options that chose the articles, to repeat in a hint."""
    if getattr(args, "collection", None):
        return f" --collection {args.collection}"
    if getattr(args, "seeds", None):
        return f" --seeds {shlex.quote(str(args.seeds))}"
    return ""


def print_out(text: str) -> None:
    sys.stdout.write(render.terminal_safe(text) + "\n")
    sys.stdout.flush()


def print_error(text: str) -> None:
    sys.stderr.write(render.terminal_safe(text) + "\n")
    sys.stderr.flush()
