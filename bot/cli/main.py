"""The command line: `python -m bot ask|summary|chat|index|run`.

Exit codes: 0 success (an unanswered question included), 2 usage or bad input, 1 anything else.
Results go to stdout, messages to stderr. `main` is the one place where errors become text.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from corpus import (
    Corpus,
    CorpusError,
    configure_encoder,
    limit_blas_threads,
    verify_cache,
)
from corpus.models import Answer

from ..settings import Settings, SettingsError, host_seeds_dir, load_settings, open_library
from . import render
from .common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    chosen_articles,
    print_error,
    print_out,
    program_name,
    subcommand,
)
from .database import add_database_command
from .feedback import add_feedback_command
from .feeds import add_feed_command
from .health import add_health_command
from .library import add_library_commands, existing_collection

__all__ = ["main"]

_log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # before or after the command's own handling
        print_error("Interrupted.")
        return 130


def _main(argv: Sequence[str] | None) -> int:
    if sys.stderr is None:  # started with stderr closed: messages go nowhere, not to a crash
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the process
    _use_utf8_streams()
    if sys.stdout is None:
        print_error("Standard output is closed, so there is nowhere to print the result.")
        return EXIT_USAGE
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):  # a bare `quotebot`: what it can do
        parser.print_help()
        return EXIT_OK
    args = parser.parse_args(argv)  # exits 2 with a usage message on its own
    try:
        settings = load_settings(discord=args.command == "run")
        logging.basicConfig(
            level=settings.log_level, format="%(levelname)s: %(message)s", stream=sys.stderr
        )
        configure_encoder(enabled=settings.encoder, threads=settings.encoder_threads)
        limit_blas_threads(settings.blas_threads)
        return args.handler(args, settings)
    except (CorpusError, SettingsError, UsageError) as exc:
        print_error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print_error("Interrupted.")
        return 130
    except BrokenPipeError:
        return EXIT_OK  # the reader went away (`| head`); nothing more to say
    except Exception as exc:
        _log.debug("Unexpected error", exc_info=True)
        print_error(
            f"Unexpected error ({type(exc).__name__}: {exc}). "
            "Run again with LOG_LEVEL=DEBUG to see the traceback, and please report it."
        )
        return EXIT_ERROR


def _use_utf8_streams() -> None:
    """Articles quote curly apostrophes and any script; never fail to print or read them."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8", errors="replace")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("quotebot")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    program = program_name()
    parser = argparse.ArgumentParser(
        prog=program,
        description="Answer questions about news articles by quoting them, with citations.",
        epilog=f'Examples:\n  {program} ask "Who leads Mali\'s army?"\n'
        f"  {program} summary --length medium\n  {program} chat\n\n"
        f"`{program} COMMAND --help` for each command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"quotebot {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, examples: list[str]) -> argparse.ArgumentParser:
        return subcommand(commands, program, name, help, examples)

    ask = command(
        "ask",
        "answer a question with quoted sentences",
        [
            '"Where will the army chiefs meet?"',
            '"Who leads Wagner?" --top 5 --explain',
            '--json "What minerals does Niger have?"',
            "--batch questions.jsonl",
        ],
    )
    ask.add_argument("question", nargs="*", help="the question (quotes optional)")
    ask.add_argument(
        "--top", type=_top_count, default=3, help="quotes to return, 1-100 (default: 3)"
    )
    ask.add_argument(
        "--explain", action="store_true", help="show why each quote was chosen (its score parts)"
    )
    ask.add_argument(
        "--batch",
        metavar="FILE",
        help='JSON lines {"question": ..., "doc": ...} from FILE or - (stdin); '
        "one JSON answer per line, in order",
    )
    _add_common(ask)
    ask.set_defaults(handler=_ask)

    summary = command(
        "summary",
        "summarise the article(s) in quoted sentences",
        ["", "--length long", '--topic "Wagner Group"', "--doc niger-coup-2023 --json"],
    )
    summary.add_argument(
        "--length",
        choices=["short", "medium", "long"],
        default="short",
        help="3, 5 or 8 sentences (default: short)",
    )
    summary.add_argument("--topic", help="only what the article says about this")
    _add_common(summary)
    summary.set_defaults(handler=_summary)

    chat = command(
        "chat", "ask again and again in an interactive session", ["", "--doc niger-coup-2023"]
    )
    _add_common(chat, json_flag=False)
    chat.set_defaults(handler=_chat)

    index = command(
        "index",
        "build or refresh the index cache; show statistics",
        ["", "--rebuild", "--seeds ~/articles --json"],
    )
    index.add_argument("--rebuild", action="store_true", help="ignore the cache and rebuild")
    _add_common(index, doc_flag=False)
    index.set_defaults(handler=_index)

    verify = command(
        "verify",
        "check the index cache: checksums, and every stored article against its seed file",
        ["", "--json"],
    )
    _add_common(verify, doc_flag=False)
    verify.set_defaults(handler=_verify)

    evaluate = command(
        "eval",
        "measure answer quality on a question file (.jsonl, WikiQA or TREC .tsv, SQuAD .json)",
        ["tests/data/article_questions.jsonl", "WikiQA-dev.tsv --show"],
    )
    evaluate.add_argument("file", type=Path, help="questions with gold answers")
    evaluate.add_argument("--top", type=_top_count, default=3, help="k for hit@k (default: 3)")
    evaluate.add_argument("--show", action="store_true", help="list every miss")
    _add_common(evaluate, doc_flag=False)
    evaluate.set_defaults(handler=_evaluate)

    for add_commands in (
        add_library_commands,
        add_feed_command,
        add_feedback_command,
        add_health_command,
        add_database_command,
    ):
        add_commands(command)

    run = command("run", "run the Discord bot (needs DISCORD_TOKEN)", ["", "--seeds ~/articles"])
    run.add_argument(
        "--seeds",
        type=Path,
        help="a folder of article files (default: SEEDS_DIR, else the default collection)",
    )
    run.set_defaults(handler=_run)
    return parser


def _add_common(
    parser: argparse.ArgumentParser, *, json_flag: bool = True, doc_flag: bool = True
) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--seeds",
        type=Path,
        help="a folder of article files (default: SEEDS_DIR, else the default collection)",
    )
    where.add_argument(
        "--collection", metavar="NAME", help="a collection of articles added with `add`"
    )
    if doc_flag:
        parser.add_argument("--doc", help="only this article (its file name without the extension)")
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _top_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 1 and 100, got {value}")
    return value


def _open_corpus(args: argparse.Namespace, settings: Settings, **options: Any) -> Corpus:
    corpus = Corpus.open(
        _seeds_of(args, settings),
        cache_dir=settings.cache_dir,
        config=settings.index_config(),
        max_question_chars=settings.max_question_length,
        progress=_progress_bar() if sys.stderr.isatty() else None,
        **options,
    )
    for problem in corpus.problems:
        print_error(f"warning: skipped {problem}")
    return corpus


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    corpus = _open_corpus(args, settings)
    try:
        return _answer(args, settings, corpus)
    finally:
        corpus.close(wait=5.0)  # what was encoded meanwhile is kept for the next run


def _answer(args: argparse.Namespace, settings: Settings, corpus: Corpus) -> int:
    if args.batch is not None:
        if args.question:
            raise UsageError("Give either a question or --batch, not both.")
        return _ask_batch(corpus, args.batch, args.top, args.doc)
    answer = corpus.ask(
        " ".join(args.question), top=args.top, doc_id=args.doc, explain=args.explain
    )
    if args.json:
        print_out(_answer_json(answer))
    else:
        print_out(
            render.render_answer(
                answer,
                color=_color(settings),
                explain=args.explain,
                asked_for=args.top,
                hint=render.not_found_hint(program_name(), chosen_articles(args)),
            )
        )
    return EXIT_OK


def _ask_batch(corpus: Corpus, source: str, top: int, default_doc: str | None) -> int:
    # Every question of a batch gets the same model: the sentence vectors still missing are
    # encoded first (as `index` does), not in the background while some questions are asked.
    corpus.encode_all()
    bad_lines = 0
    for line_number, line in _batch_lines(source):
        try:
            question, doc = _parse_batch_line(line, line_number)
            answer = corpus.ask(question, top=top, doc_id=doc or default_doc)
            print_out(_answer_json(answer))
        except (CorpusError, UsageError) as exc:
            bad_lines += 1
            print_error(f"line {line_number}: {exc}")
            print_out(_error_json(line, str(exc)))
    return EXIT_USAGE if bad_lines else EXIT_OK


def _batch_lines(source: str) -> Iterator[tuple[int, str]]:
    """Numbered non-blank lines of the batch input; blank lines get no answer line."""
    if source == "-":
        yield from _numbered_non_blank(sys.stdin)
        return
    try:
        # utf-8-sig: a byte-order mark (as Windows editors write) is not part of line 1.
        handle = open(source, encoding="utf-8-sig")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise UsageError(f"Cannot read the batch file {source}: {exc.strerror}.") from exc
    with handle:
        yield from _numbered_non_blank(handle)


def _numbered_non_blank(handle: IO[str]) -> Iterator[tuple[int, str]]:
    try:
        for number, line in enumerate(handle, start=1):
            if number == 1:
                line = line.removeprefix("\ufeff")  # a byte-order mark on stdin
            if line.strip():
                yield number, line
    except UnicodeDecodeError as exc:
        raise UsageError(f"The batch input is not UTF-8 text ({exc.reason}).") from exc


def _parse_batch_line(line: str, line_number: int) -> tuple[str, str | None]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UsageError(f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise UsageError("nested too deeply to be a question") from None
    if not isinstance(item, dict) or not isinstance(item.get("question"), str):
        raise UsageError('expected an object like {"question": "...", "doc": "optional id"}')
    doc = item.get("doc")
    if doc is not None and not isinstance(doc, str):
        raise UsageError('"doc" must be a string (a document id)')
    return item["question"], doc


def _answer_json(answer: Answer) -> str:
    return json.dumps(answer.model_dump(mode="json"), ensure_ascii=False)


def _error_json(line: str, message: str) -> str:
    try:
        question = json.loads(line).get("question")
    except (json.JSONDecodeError, AttributeError, RecursionError):
        question = None
    return json.dumps(
        {"question": question, "found": False, "quotes": [], "error": message}, ensure_ascii=False
    )


def _summary(args: argparse.Namespace, settings: Settings) -> int:
    corpus = _open_corpus(args, settings)
    summary = corpus.summarize(length=args.length, topic=args.topic, doc_id=args.doc)
    if args.json:
        print_out(json.dumps(summary.model_dump(mode="json"), ensure_ascii=False))
    else:
        print_out(render.render_summary(summary, color=_color(settings)))
    return EXIT_OK


def _index(args: argparse.Namespace, settings: Settings) -> int:
    corpus = _open_corpus(args, settings, force_rebuild=args.rebuild)
    stats, status, seconds = corpus.stats(), corpus.cache_status, corpus.open_seconds
    show = not args.json and sys.stderr.isatty()
    vectors = corpus.encode_all(_progress_bar("Encoding", "sentences") if show else None)
    if args.json:
        data = {**render.stats_json(stats, status, seconds), "vectors": vectors.model_dump()}
        print_out(json.dumps(data, ensure_ascii=False))
    else:
        print_out(
            render.render_stats(stats, status, seconds) + "\n" + render.render_vectors(vectors)
        )
    return EXIT_OK


def _seeds_of(args: argparse.Namespace, settings: Settings) -> Path:
    """The directory the command reads: a --collection's, --seeds, SEEDS_DIR, or the default
    collection's."""
    name = getattr(args, "collection", None)
    if name:
        library = open_library(settings)
        if not library.articles(existing_collection(library, name)):
            raise UsageError(
                f"The collection “{name}” has no articles yet. Add some with: "
                f"{program_name()} add URL|FILE --collection {name}"
            )
        return library.seeds_dir(name)
    return host_seeds_dir(settings, getattr(args, "seeds", None))


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    report = verify_cache(
        _seeds_of(args, settings),
        cache_dir=settings.cache_dir,
        config=settings.index_config(),
    )
    if args.json:
        print_out(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
    elif report.intact:
        print_out(
            f"The index cache is intact: {report.articles} article(s), each stored text "
            "matching its hash and its seed file."
        )
    else:
        print_out("\n".join(report.problems))
        print_out("Run `index --rebuild` to build it afresh.")
    return EXIT_OK if report.intact else EXIT_ERROR


def _evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from corpus import evaluate_file

    report = evaluate_file(
        args.file, seeds_dir=_seeds_of(args, settings), top=args.top, vectors_dir=settings.cache_dir
    )
    if args.json:
        print_out(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
    else:
        print_out(render.render_eval(report, show_misses=args.show))
    return EXIT_OK


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from .chat import run_chat  # readline set-up is only for interactive use

    corpus = _open_corpus(args, settings)
    history = settings.cache_dir / "chat_history" if settings.cache_dir else None
    return run_chat(corpus, doc_id=args.doc, history_file=history, color=_color(settings))


def _run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here so that the other commands never pay for importing discord.py.
    from ..discord.app import run_bot

    return run_bot(settings, seeds_dir=args.seeds)


def _progress_bar(doing: str = "Indexing", items: str = "files") -> Callable[[int, int], None]:
    """A one-line progress bar on stderr, for builds of many files (terminals only)."""
    shown = -1

    def report(done: int, total: int) -> None:
        nonlocal shown
        percent = done * 100 // total
        if total < 50 or (percent == shown and done != total):
            return
        shown = percent
        filled = percent // 4
        bar = f"[{'#' * filled}{'.' * (25 - filled)}]"
        sys.stderr.write(f"\r{doing} {bar} {done}/{total} {items}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return report


def _color(settings: Settings) -> bool:
    return sys.stdout.isatty() and not settings.no_color and os.environ.get("TERM") != "dumb"
