"""Summary speed against the article's length: one article of 0.25, 0.5, 1 and 2 MB.

    python bench/summary_speed.py               # the four sizes
    python bench/summary_speed.py --sizes 200   # one 200 MB seed: index time, then summary

Articles are made of sentences drawn from a fixed-seed generator (a Zipf vocabulary, as in
`bench/scale.py`), so every size has the same mix of common and rare words. Each line prints
the time to build the index and the time of a long summary with no topic, in process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus import Corpus

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import vocabulary

WORDS = np.array(vocabulary()[:20_000])  # word-like, distinct, as in bench/scale.py
_WEIGHTS = 1 / np.arange(1, len(WORDS) + 1)


def article(megabytes: float, seed: int = 7) -> str:
    """Paragraphs of 2 to 5 sentences of 8 to 25 Zipf-drawn words, to about `megabytes`."""
    rng = np.random.default_rng(seed)
    # About 6.3 characters a word with its space: draw enough words at once.
    words = WORDS[rng.choice(len(WORDS), int(megabytes * 1e6 / 6.3), p=_WEIGHTS / _WEIGHTS.sum())]
    lengths = rng.integers(8, 26, len(words) // 8)
    sentences, at = [], 0
    for length in lengths.tolist():
        if at + length > len(words):
            break
        sentences.append(" ".join(words[at : at + length]).capitalize() + ".")
        at += length
    sizes = rng.integers(2, 6, len(sentences))
    paragraphs, at = [], 0
    for size in sizes.tolist():
        if at >= len(sentences):
            break
        paragraphs.append(" ".join(sentences[at : at + size]))
        at += size
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
            corpus = Corpus.open(seeds, cache_dir=Path(work, "cache"), encoder=False)
            built = time.perf_counter() - t0
            t0 = time.perf_counter()
            summary = corpus.summarize(length="long")
            took = time.perf_counter() - t0
            assert summary.found
            print(f"| {megabytes:g} | {len(corpus.index.sentences):,} | {built:.2f} | {took:.3f} |")


if __name__ == "__main__":
    main()
