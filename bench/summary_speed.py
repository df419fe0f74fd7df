"""Summary speed against the article's length: one article of 0.25, 0.5, 1 and 2 MB.

    python bench/summary_speed.py               # the four sizes
    python bench/summary_speed.py --sizes 200   # one 200 MB seed: index time, then summary

Articles are made of sentences drawn from a fixed-seed generator (a Zipf vocabulary, as in
`bench/scale.py`), so every size has the same mix of common and rare words. Each line prints
the time to build the index and the time of a long summary with no topic, in process.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus import Corpus

WORDS = [
    "".join(random.Random(n).choice("bcdfgklmnprstvz") + "aeiou"[n % 5] for _ in range(3))
    for n in range(20_000)
]


def article(megabytes: float, seed: int = 7) -> str:
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    paragraphs, size = [], 0
    while size < megabytes * 1e6:
        sentences = []
        for _ in range(rng.randint(2, 5)):
            words = rng.choices(WORDS, weights, k=rng.randint(8, 25))
            sentences.append(" ".join(words).capitalize() + ".")
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    return "A long article\n\n" + "\n\n".join(paragraphs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="*", default=[0.25, 0.5, 1, 2])
    args = parser.parse_args()
    print("| MB | sentences | index s | long summary s |")
    print("|---|---|---|---|")
    for megabytes in args.sizes:
        with tempfile.TemporaryDirectory() as work:
            seeds = Path(work, "seeds")
            seeds.mkdir()
            (seeds / "long.txt").write_text(article(megabytes), encoding="utf-8")
            t0 = time.perf_counter()
            corpus = Corpus.open(seeds, cache_dir=Path(work, "cache"))
            built = time.perf_counter() - t0
            t0 = time.perf_counter()
            summary = corpus.summarize(length="long")
            took = time.perf_counter() - t0
            assert summary.found
            print(f"| {megabytes:g} | {len(corpus.index.sentences):,} | {built:.2f} | {took:.3f} |")


if __name__ == "__main__":
    main()
