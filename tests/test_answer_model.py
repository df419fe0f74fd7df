"""The learned answer model: its file, its three outcomes, the word vectors it reads, and the
question-set loaders it is trained through."""

from __future__ import annotations

import json
import logging
import random

import numpy as np
import pytest

from bot.cli import render as render_text
from bot.discord import render as render_discord
from corpus.answering import vectors
from corpus.answering.features import ALL_FEATURES, ENCODER_FEATURES, FEATURES
from corpus.answering.question import clean_question
from corpus.answering.scorer import (
    CONFIDENCE_EXTRAS,
    LEXICAL_MODEL_FILE,
    MODEL_FILE,
    AnswerModel,
    answer_model,
)
from corpus.answering.vectors import WordVectors
from corpus.evaluate import evaluate_file, load_question_set
from corpus.models import Answer, Citation, Quote
from tests.conftest import build_corpus, require_kernel


@pytest.mark.parametrize(("encoder", "features"), [(True, ALL_FEATURES), (False, FEATURES)])
def test_shipped_models_match_the_features_and_order_their_thresholds(encoder, features):
    model = answer_model(encoder=encoder)
    assert model.features == features and model.uses_encoder == encoder
    assert model.rank_weights.shape == (len(features),)
    assert model.confidence_weights.shape == (len(features) + len(CONFIDENCE_EXTRAS),)
    assert 0.0 <= model.closest_threshold <= model.answer_threshold <= 1.0
    assert model.outcome(model.answer_threshold) == "answer"
    assert model.outcome(model.closest_threshold) in ("closest", "answer")
    assert model.outcome(0.0) == "none" or model.closest_threshold == 0.0
    # The calibration curve rises: a higher fitted confidence never means a lower one.
    assert list(model.calibration_x) == sorted(model.calibration_x)
    assert list(model.calibration_y) == sorted(model.calibration_y)


@pytest.mark.parametrize("path", [MODEL_FILE, LEXICAL_MODEL_FILE])
def test_a_model_for_other_features_is_refused(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["rank_weights"][FEATURES[0]]
    with pytest.raises(ValueError, match="do not match"):
        AnswerModel.from_json(data)


def test_scores_split_into_contributions_that_add_up():
    model = answer_model(encoder=True)
    row = np.linspace(0.1, 1.0, len(ALL_FEATURES))
    parts = model.contributions(dict(zip(ALL_FEATURES, row.tolist(), strict=True)))
    assert set(ENCODER_FEATURES) <= set(parts)
    assert sum(parts.values()) == pytest.approx(float(model.scores(row[None, :])[0]))


def test_answers_carry_a_confidence_and_one_of_three_outcomes(article_corpus):
    model = answer_model(encoder=True)
    answered = article_corpus.ask("Who is the head of the Wagner Group?")
    assert answered.outcome == "answer" and answered.found
    assert answered.confidence >= model.answer_threshold
    declined = article_corpus.ask("What is the capital of Australia?")
    assert declined.outcome == "none" and not declined.found
    assert 0.0 <= declined.confidence < model.closest_threshold


def closest_answer() -> Answer:
    text = "Yevgeny Prigozhin, head of Wagner Group, welcomed the army takeover."
    citation = Citation(
        doc_id="doc",
        title="Title",
        paragraph=2,
        sentence=1,
        sentence_in_document=3,
        start=0,
        end=len(text),
    )
    quote = Quote(text=text, citation=citation, score=1.0)
    return Answer(
        question="Who runs Wagner?",
        found=False,
        outcome="closest",
        confidence=0.38,
        reason="The articles may not answer this directly; the closest passage is:",
        quotes=(quote,),
    )


def test_the_closest_passage_is_shown_marked_as_not_an_answer():
    text = render_text.render_answer(closest_answer())
    assert text.startswith("The articles may not answer this directly")
    assert "“Yevgeny Prigozhin, head of Wagner Group" in text
    assert "not as an answer: the model is 38% sure" in text
    embed = render_discord.answer_embed(closest_answer())
    assert embed.author.name.startswith("The articles may not answer this directly")
    assert "Prigozhin" in embed.description
    assert "not as an answer" in embed.footer.text
    assert embed.colour == render_discord.CLOSEST_COLOUR


def write_tiny_vectors(directory):
    """A 6-token BPE tokenizer and a safetensors matrix, in the wordllama layout."""
    (directory / "weights").mkdir(parents=True)
    (directory / "tokenizers").mkdir()
    vocab = {"<s>": 0, "▁": 1, "c": 2, "a": 3, "t": 4, "▁cat": 5, "at": 6, "▁c": 7}
    merges = ["a t", "▁ c", "▁c at"]
    config = {"model": {"type": "BPE", "vocab": vocab, "merges": merges}}
    (directory / vectors._TOKENIZER).write_text(json.dumps(config), encoding="utf-8")
    matrix = np.zeros((8, 4), dtype="<f2")
    matrix[5] = [1, 0, 0, 0]  # "▁cat"
    matrix[3] = [0, 1, 0, 0]  # "a"
    header = json.dumps(
        {"embedding.weight": {"dtype": "F16", "shape": [8, 4], "data_offsets": [0, 64]}}
    ).encode()
    (directory / vectors._WEIGHTS).write_bytes(
        len(header).to_bytes(8, "little") + header + matrix.tobytes()
    )


def test_word_vectors_apply_the_merges_and_average_the_tokens(tmp_path):
    write_tiny_vectors(tmp_path)
    loaded = WordVectors(tmp_path)
    assert loaded.word_ids("cat") == (5,)  # ▁ c a t → ▁c at → ▁cat
    assert loaded.word_ids("a") == (1, 3)
    vectors_ = loaded.embed(["cat", "cat a", ""])
    assert vectors_[0] == pytest.approx([1, 0, 0, 0])
    assert vectors_[1] == pytest.approx(np.array([1, 1, 0, 0]) / np.sqrt(2))
    assert not vectors_[2].any()


def test_without_word_vectors_answers_still_work(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(vectors.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(vectors, "_loaded", [])
    with caplog.at_level(logging.WARNING, logger="corpus.answering.vectors"):
        assert vectors.text_vectors(["anything"]) is None
    assert "pip install wordllama" in caplog.text
    corpus = build_corpus(tmp_path, {"a": "The inventor lived in London for years."})
    assert corpus.ask("Where did the inventor live?").quotes


def test_squad_files_are_questions_over_their_articles(tmp_path):
    context = "The castle was built in 1120. It burned down in 1450."
    squad = {
        "data": [
            {
                "title": "Castle",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "id": "q1",
                                "question": "When did the castle burn down?",
                                "answers": [
                                    {"text": "1450", "answer_start": context.index("1450")}
                                ],
                            },
                            {"id": "q2", "question": "Who owned the castle?", "answers": []},
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(squad), encoding="utf-8")
    with load_question_set(path, seeds_dir=tmp_path) as questions:
        assert [c.answerable for c in questions.cases] == [True, False]
        first = questions.cases[0]
        assert first.is_gold("It burned down in 1450.", 30, 53)
        assert not first.is_gold("The castle was built in 1120.", 0, 29)
    report = evaluate_file(path, seeds_dir=tmp_path)
    assert report.answerable == 1 and report.hit_at_k == 1.0


def test_wikiqa_document_ids_never_name_files(tmp_path):
    tsv = tmp_path / "hostile.tsv"
    rows = [
        "QuestionID\tQuestion\tDocumentID\tDocumentTitle\tSentenceID\tSentence\tLabel",
        "Q1\twho built it\t../../escaped\tT\tS1\tBob built it.\t1",
    ]
    tsv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = evaluate_file(tsv, seeds_dir=tmp_path)
    assert report.questions == 1
    assert not (tmp_path.parent / "escaped.txt").exists()
    assert not list(tmp_path.parent.parent.glob("escaped*"))


@pytest.mark.parametrize(
    ("typed", "cleaned"),
    [
        ("@everyone who is **Bazoum**???", "who is Bazoum???"),
        ("<@123456789> where will the army chiefs meet", "where will the army chiefs meet"),
        ("<#55> who is _Bazoum_ <@&7>", "who is Bazoum"),
        ("what is 2*3?", "what is 2*3?"),  # not emphasis
        ("what is snake_case_name?", "what is snake_case_name?"),
    ],
)
def test_chat_markup_is_not_part_of_the_question(typed, cleaned):
    assert clean_question(typed) == cleaned


def test_broad_questions_get_the_lead_about_their_subject(article_corpus):
    gist = article_corpus.ask("What happened in Niger?", top=1)
    assert gist.found and gist.quotes[0].citation.sentence_in_document == 1
    about = article_corpus.ask("What is this article about?", top=1)
    assert about.found and about.quotes[0].citation.sentence_in_document == 1
    wagner = article_corpus.ask("What's the story with Wagner?", top=2)
    assert wagner.found and all("Wagner" in q.text for q in wagner.quotes)


def test_a_question_about_what_happened_to_something_asks_a_fact(article_corpus):
    answer = article_corpus.ask("What has happened to pro-Russia sentiment since the coup?")
    assert answer.quotes[0].text.startswith("Since the coup, pro-Russia sentiment")


def test_a_broad_question_over_many_articles_picks_the_one_about_its_subject(tmp_path):
    corpus = build_corpus(
        tmp_path,
        {
            "strike": "Rail strike halts trains\n\nRail workers began a national strike on "
            "Monday.\n\nThe union wants higher pay.",
            "fire": "Wildfire forces evacuations\n\nA wildfire forced 12,000 people from their "
            "homes.\n\nFirefighters fought the blaze overnight.",
        },
    )
    answer = corpus.ask("What happened with the wildfire?", top=1)
    assert answer.found and answer.quotes[0].text.startswith("A wildfire forced")


def test_every_answer_shows_how_sure_the_model_is():
    quote = closest_answer().quotes[0].model_copy(update={"answers_question": True})
    answer = Answer(
        question="Who heads Wagner?", found=True, outcome="answer", confidence=0.83, quotes=(quote,)
    )
    assert render_text.render_answer(answer).endswith(
        "Confidence that the first quote answers: 83%"
    )
    assert (
        "Confidence that the first quote answers: 83%"
        in render_discord.answer_embed(answer).footer.text
    )


def test_a_broad_answer_explains_the_rule_that_chose_it(article_corpus):
    answer = article_corpus.ask("What happened in Niger?", top=1, explain=True)
    quote = answer.quotes[0]
    assert quote.explanation is not None and "broad question" in quote.explanation.rule
    assert [quote.text[s:e] for s, e in quote.highlights] == ["Niger"]
    assert "why: a broad question" in render_text.render_answer(answer, explain=True)
    assert "broad question" in render_discord.answer_embed(answer).footer.text


def test_a_broad_answer_says_opening_sentences_only_when_they_are(article_corpus):
    # "Niger": the first sentences that name it are the 1st, the 2nd and the 5th, not the
    # article's opening three; with no subject, the article's opening three.
    named = article_corpus.ask("What happened in Niger?")
    assert named.basis == "naming"
    assert [q.citation.sentence_in_document for q in named.quotes] != [1, 2, 3]
    assert render_text.render_answer(named).endswith(render_text.NAMING_BASIS)
    assert "that name it" in render_discord.answer_embed(named).footer.text
    opening = article_corpus.ask("What is this article about?")
    assert opening.basis == "lead"
    assert render_text.render_answer(opening).endswith(render_text.LEAD_BASIS)
    assert "opening sentences" in render_discord.answer_embed(opening).footer.text


def test_word_rows_emptied_when_full_give_the_same_vectors(tmp_path, monkeypatch):
    """Serving a big archive empties the kept word rows when they fill up; vectors and
    closest-word similarities made after that equal those of a fresh table."""
    write_tiny_vectors(tmp_path)
    texts = ["cat a", "a cat cat", "cat", "a"]
    groups = [("cat",), ("a", "cat"), ()]
    fresh = WordVectors(tmp_path)
    expected_vectors = fresh.embed(texts)
    expected_closest = fresh.closest(groups, ["a", "cat"])
    monkeypatch.setattr(vectors, "_KEPT_WORDS", 2)
    small = WordVectors(tmp_path)
    for _ in range(3):  # each call overflows the two rows and empties them
        assert small.closest(groups, ["a", "cat"]) == pytest.approx(expected_closest)
        assert small.embed([*texts, "c t"])[:4] == pytest.approx(expected_vectors)
        small.embed(["c", "t", "at"])


def test_the_compiled_merges_split_words_as_the_python_loop():
    """csrc/quotebot_vectors.c must split every word exactly as the tokenizer's merges do in
    Python: real words, made-up ones, accents, other scripts, digits and the empty word."""
    require_kernel(vectors._compiled, "quotebot_vectors")
    loaded = vectors.word_vectors()
    assert loaded is not None
    rng = random.Random(5)
    alphabet = "abcdefghijklmnopqrstuvwxyzéüñçøß日本語Ωж0123456789'’-ABCXYZ"
    words = [*"Who is the head of the Wagner Group ? Prigozhin's mutiny 2023".split(), "", "a"]
    words += ["".join(rng.choices(alphabet, k=rng.randint(1, 30))) for _ in range(3000)]
    assert loaded.split(words) == loaded.split(words, compiled=False)
    # And their token rows are summed as numpy sums them (float16 rows, float32 sums; numpy
    # adds long groups in another order, so the last bits may differ).
    ids, counts = loaded._split_flat(words)
    compiled = vectors._token_sums(loaded.matrix, ids, counts)
    in_numpy = vectors._token_sums(loaded.matrix, ids, counts, compiled=False)
    assert np.allclose(compiled, in_numpy, rtol=1e-6, atol=1e-5)
    assert not compiled[np.flatnonzero(counts == 0)].any()


def test_the_tiny_tokenizer_splits_alike_on_both_paths(tmp_path):
    write_tiny_vectors(tmp_path)
    loaded = WordVectors(tmp_path)
    words = ["cat", "a", "ca", "tac", "catcat", "", "dog", "▁cat"]
    assert loaded.split(words) == loaded.split(words, compiled=False)


def test_merges_are_read_as_pairs_in_rank_order_whatever_their_form():
    fast = vectors._pairs(["a t", "▁ c", "▁c at"])
    assert (fast.lefts, fast.rights, fast.ranks.tolist()) == (
        ["a", "▁", "▁c"],
        ["t", "c", "at"],
        [0, 1, 2],
    )
    # Pairs (newer tokenizer files), an entry that is not a pair, a token holding a newline:
    # read one by one, the odd entry left out, the others keeping their ranks.
    for merges in (["a t", ["▁", "c"], "x y z", "▁c at"], ["a t", "\n x", "bad", "▁c at"]):
        slow = vectors._pairs(merges)
        kept = [
            i for i, m in enumerate(merges) if len(m.split(" ") if isinstance(m, str) else m) == 2
        ]
        assert slow.ranks.tolist() == kept
        assert len(slow.lefts) == len(slow.rights) == len(kept)
