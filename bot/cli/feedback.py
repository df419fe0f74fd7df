"""`quotebot feedback export --collection server-<id>`: a Discord server's rated answers as
a question file `eval` reads (bot/state/export.py says what counts as gold).

Registered by `build_parser` in main.py (`add_feedback_command`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..settings import Settings
from ..state import BotState, StateError
from ..state.export import question_rows
from ..state.servers import guild_of
from .common import EXIT_OK, Command, UsageError, print_error, program_name, subcommand

__all__ = ["add_feedback_command"]


def add_feedback_command(command: Command) -> None:
    program = program_name()
    feedback = command(
        "feedback",
        "members' votes on the Discord bot's answers, as a question file for `eval`",
        ["export --collection server-123456789012345678"],
    )
    actions = feedback.add_subparsers(dest="feedback_command", required=True, metavar="ACTION")
    export = subcommand(
        actions,
        f"{program} feedback",
        "export",
        "write a server's rated answers as JSON lines that `eval` reads (right quote as gold)",
        [
            "--collection server-123456789012345678",
            "--collection server-123456789012345678 --out server-questions.jsonl",
        ],
    )
    export.add_argument(
        "--collection",
        metavar="NAME",
        required=True,
        help="the server's collection: server-<server id> (see `list` or /about)",
    )
    export.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace, settings: Settings) -> int:
    guild_id = guild_of(args.collection)
    if guild_id is None:
        raise UsageError(
            f"Feedback is kept per Discord server: name a server's collection, server-<id> "
            f"(got “{args.collection[:80]}”)."
        )
    try:
        state = BotState(
            settings.data_dir,
            default_retention_days=settings.retention_days,
            database_url=settings.state_database(),
        )
        try:
            exported = question_rows(state.rated_answers(guild_id))
        finally:
            state.close()
    except StateError as error:
        raise UsageError(str(error)) from None
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in exported.rows)
    if args.out is not None:
        try:
            args.out.write_text(lines, encoding="utf-8")
        except OSError as error:
            raise UsageError(f"Could not write {args.out} ({error.strerror}).") from None
    else:
        sys.stdout.write(lines)
        sys.stdout.flush()
    left_out = (
        f"; {exported.without_gold} left out (voted down, with no right quote picked)"
        if exported.without_gold
        else ""
    )
    where = f" to {args.out}" if args.out is not None else ""
    print_error(f"Exported {len(exported.rows)} question(s){where}{left_out}.")
    return EXIT_OK
