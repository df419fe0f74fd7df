"""Follow-up questions, measured: two-turn exchanges over articles no fit has seen.

    python bench/followups.py [--questions tests/data/followup_questions.jsonl]
                              [--seeds ../shared/corpora/bbc-news] [--cache DIR] [--words-only]

Each line of the question file is {"id", "source_doc", "kind", "first": {"question",
"answers"}, "second": {"question", "answers"}}: a question a member asks, then one that only
makes sense after it ("when did he do that?", "and in 2005?"). The whole collection answers
(every article of --seeds), as a server's members would ask it. For every exchange the first
question is asked; then the second, read with the first (as `chat` and the bot read it), and,
for comparison, the second alone. A turn is right when it is answered (not declined) and its
first quote holds one of the gold strings.

Prints the share of first turns answered and right, and, of the exchanges whose first turn
was, the share whose second turn is too: read with the first (the target is 0.80) and alone;
under each, the share whose first quote is right, answered or not (a diagnosis), and the share
answered with a wrong quote (what a member is misled by).
Also by kind (pronoun, ellipsis), and every exchange whose second turn went wrong with
--show. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus import Answer, Corpus  # noqa: E402
from corpus.answering.followup import Exchange  # noqa: E402


def right(answer: Answer, gold: list[str]) -> bool:
    """Answered (not declined), and its first quote is right."""
    return answer.found and first_quote_right(answer, gold)


def first_quote_right(answer: Answer, gold: list[str]) -> bool:
    """The right sentence first, answered or not (a diagnosis of the ranking)."""
    return bool(answer.quotes) and any(g in answer.quotes[0].text for g in gold)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--questions", type=Path, default=ROOT / "tests" / "data" / "followup_questions.jsonl"
    )
    parser.add_argument(
        "--seeds", type=Path, default=ROOT.parent / "shared" / "corpora" / "bbc-news"
    )
    parser.add_argument("--cache", type=Path, help="keep the index (and vectors) here")
    parser.add_argument("--words-only", action="store_true", help="without the encoder")
    parser.add_argument("--show", action="store_true", help="list the second turns gone wrong")
    parser.add_argument(
        "--part",
        choices=["dev", "test", "all"],
        default="all",
        help="dev: the exchanges of every other article (sorted by id), to choose on; "
        "test: the others, to report on",
    )
    args = parser.parse_args()
    exchanges = [json.loads(line) for line in args.questions.read_text().splitlines() if line]
    articles = sorted({e["source_doc"] for e in exchanges})
    half = {"dev": set(articles[0::2]), "test": set(articles[1::2])}.get(args.part)
    if half is not None:
        exchanges = [e for e in exchanges if e["source_doc"] in half]
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Corpus.open(
            args.seeds, cache_dir=args.cache or Path(scratch), encoder=not args.words_only
        )
        counts: Counter[str] = Counter()
        wrong = []
        for exchange in exchanges:
            first, second, kind = exchange["first"], exchange["second"], exchange["kind"]
            answered = corpus.ask(first["question"])
            if not right(answered, first["answers"]):
                continue
            counts["first right"] += 1
            counts[f"first right, {kind}"] += 1
            followed = corpus.ask(second["question"], previous=Exchange.of(answered))
            alone = corpus.ask(second["question"])
            for name, answer in (("read with the first", followed), ("alone", alone)):
                if right(answer, second["answers"]):
                    counts[f"second right, {name}"] += 1
                    counts[f"second right, {name}, {kind}"] += 1
                if first_quote_right(answer, second["answers"]):
                    counts[f"second first, {name}"] += 1
                elif answer.found:
                    counts[f"second wrong, {name}"] += 1
            if not right(followed, second["answers"]):
                shown = followed.quotes[0].text[:100] if followed.quotes else "(nothing)"
                asked = f"{exchange['id']} {second['question']!r}"
                wrong.append(f"{asked}: {followed.outcome}: {shown}")
        corpus.close()
    total, first_right = len(exchanges), counts["first right"]
    print(f"{total} exchanges; first turn answered and right: {first_right / total:.3f}")
    for name in ("read with the first", "alone"):
        share = counts[f"second right, {name}"] / max(first_right, 1)
        kinds = ", ".join(
            f"{kind} {counts[f'second right, {name}, {kind}']}/{counts[f'first right, {kind}']}"
            for kind in ("pronoun", "ellipsis")
        )
        print(f"second turn answered and right, {name}: {share:.3f} of {first_right} ({kinds})")
        ranked = counts[f"second first, {name}"] / max(first_right, 1)
        print(f"  its first quote right, answered or not: {ranked:.3f}")
        wrong_share = counts[f"second wrong, {name}"] / max(first_right, 1)
        print(f"  answered with a wrong quote: {wrong_share:.3f}")
    if args.show:
        print("\n".join(["", *wrong]))


if __name__ == "__main__":
    main()
