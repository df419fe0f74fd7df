"""Split WikiQA train into two halves by question, outside the project: the even-numbered
questions to fit on, the odd-numbered ones held out (the stand-in for WikiQA test).

    python bench/split_wikiqa.py [--out DIR]

Reads ../shared/eval/train/WikiQA-train.tsv; writes wikiqa-train-even.tsv and
wikiqa-train-odd.tsv (WikiQA's TSV, rows unchanged) into DIR (default ../cache/sets, where
bench/train_answers.py looks). Never writes into the project.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "eval" / "train" / "WikiQA-train.tsv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT.parent / "cache" / "sets")
    args = parser.parse_args()
    header, *rows = SOURCE.read_text(encoding="utf-8-sig").splitlines()
    rows = [row for row in rows if row]
    number: dict[str, int] = {}
    for row in rows:
        number.setdefault(row.split("\t", 1)[0], len(number))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, parity in (("even", 0), ("odd", 1)):
        half = [row for row in rows if number[row.split("\t", 1)[0]] % 2 == parity]
        path = args.out / f"wikiqa-train-{name}.tsv"
        path.write_text("\n".join([header, *half]) + "\n", encoding="utf-8")
        print(f"{path}: {len({row.split(chr(9), 1)[0] for row in half})} questions")


if __name__ == "__main__":
    main()
