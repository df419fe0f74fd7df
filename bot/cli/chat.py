"""`python -m bot chat`: ask again and again, with line editing and history (readline)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpus import Corpus, CorpusError, Exchange, UnknownDocumentError

from . import render

__all__ = ["run_chat"]

_log = logging.getLogger(__name__)

HELP = """Type a question and press Enter. Commands:
  :summary [short|medium|long] [topic words]   summarise, optionally about a topic
  :doc ID                                      only ask that document (:doc alone: all)
  :docs                                        list the documents
  :help                                        this text
  :quit                                        leave (Ctrl-D works too)"""


def run_chat(
    corpus: Corpus,
    *,
    doc_id: str | None = None,
    history_file: Path | None = None,
    read_line: Callable[[str], str] = input,
    color: bool = False,
) -> int:
    if doc_id is not None and doc_id not in corpus.index.spans:
        raise UnknownDocumentError(doc_id, list(corpus.index.spans))
    _enable_history(history_file)
    state: dict[str, Any] = {"doc": doc_id, "previous": None}
    interactive = sys.stdin.isatty()
    if interactive:
        print(
            f"Ask about {len(corpus.index.spans)} article(s). :help for commands, :quit to leave."
        )
    while True:
        try:
            line = read_line(_prompt(state["doc"]) if interactive else "").strip()
        except EOFError:  # Ctrl-D: leave, on a line of its own
            if interactive:
                print()
            break
        except KeyboardInterrupt:  # Ctrl-C: drop the line being typed, as a shell does
            print()
            continue
        if not line:
            continue
        if line in (":quit", ":q", ":exit"):
            break
        try:
            print(render.terminal_safe(_respond(corpus, line, state, color)))
        except CorpusError as exc:
            print(render.terminal_safe(str(exc)))
        print()
    _save_history(history_file)
    return 0


def _prompt(doc_id: str | None) -> str:
    return f"ask [{doc_id}]> " if doc_id else "ask> "


def _respond(corpus: Corpus, line: str, state: dict[str, Any], color: bool) -> str:
    if not line.startswith(":"):
        # A follow-up ("when was that?") is read with the question before it.
        answer = corpus.ask(line, doc_id=state["doc"], previous=state["previous"])
        state["previous"] = Exchange.of(answer)
        return render.render_answer(answer, color=color, hint=render.CHAT_HINT)
    command, _, rest = line.partition(" ")
    rest = rest.strip()
    if command == ":help":
        return HELP
    if command == ":docs":
        return "\n".join(f"{d.id}: {d.title}" for d in corpus.index.documents)
    if command == ":doc":
        if rest and rest not in corpus.index.spans:
            return f"No document {rest!r}. :docs lists them."
        state["doc"] = rest or None
        return f"Asking {rest}." if rest else "Asking all documents."
    if command == ":summary":
        length, _, topic = rest.partition(" ")
        if length not in ("short", "medium", "long"):
            length, topic = "short", rest
        summary = corpus.summarize(length=length, topic=topic or None, doc_id=state["doc"])  # type: ignore[arg-type]
        return render.render_summary(summary, color=color)
    return f"Unknown command {command}. {HELP}"


def _enable_history(history_file: Path | None) -> None:
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input still works
        return
    if history_file is not None and history_file.exists():
        try:
            readline.read_history_file(history_file)
        except OSError as exc:
            _log.warning("Could not read the chat history %s: %s", history_file, exc)


def _save_history(history_file: Path | None) -> None:
    try:
        import readline
    except ImportError:
        return
    if history_file is None:
        return
    try:
        history_file.parent.mkdir(parents=True, exist_ok=True)
        readline.set_history_length(1000)
        readline.write_history_file(history_file)
    except OSError as exc:
        _log.warning("Could not save the chat history %s: %s", history_file, exc)
