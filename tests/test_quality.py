"""Quality regression: our own question sets must keep the level reached when this was written.

The numbers come from `python -m bot eval tests/data/<file>`, with the sentence encoder as
users have it; if a change lowers one, the change is worse for users, whatever else it
improves. Each level is one question below the one measured: the encoder's arithmetic may
differ in the last digits from machine to machine (threads, instruction sets), which can swap
two candidates that tie.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus import CorpusError
from corpus.evaluate import evaluate_file
from tests.conftest import PROJECT

DATA = Path(__file__).parent / "data"
SEEDS = PROJECT / "seeds"

pytestmark = pytest.mark.usefixtures("encoder")


def test_article_questions_keep_their_level():
    report = evaluate_file(DATA / "article_questions.jsonl", seeds_dir=SEEDS)
    assert report.hit_at_1 >= 12 / 15  # measured 13 of 15
    assert report.hit_at_k == 1.0
    assert report.declined == 1.0
    assert report.recall >= 11 / 15  # measured 12 of 15 answered, and right
    assert report.precision >= 0.9


def test_near_miss_questions_are_declined():
    report = evaluate_file(DATA / "decline_questions.jsonl", seeds_dir=SEEDS)
    assert report.answerable == 15 and report.unanswerable == 25
    assert report.recall >= 13 / 15  # measured 14 of 15 (the other offered as closest)
    assert report.declined >= 21 / 25  # measured 22 of 25


def test_paraphrased_questions_find_their_sentence_and_never_a_wrong_answer():
    """Questions in other words than the article's ("keep soldiers" for "maintain troops"):
    related words and word vectors rank the right sentence first; the answer model is
    confident about fewer than half of them, and right whenever it is."""
    report = evaluate_file(DATA / "paraphrase_questions.jsonl", seeds_dir=SEEDS)
    assert report.answerable == 18
    assert report.hit_at_1 >= 16 / 18  # measured 17 of 18
    assert report.hit_at_k >= 16 / 18
    assert report.precision == 1.0
    assert report.recall >= 7 / 18  # measured 8 of 18 (words only: 4)


# Sets the answer model never saw (bench/train_answers.py gives them the "test" role): the
# levels reached when the model was fitted, so that a change that lowers them shows.


def test_new_articles_asked_without_naming_one_keep_their_level():
    """Six new articles written for testing and 82 everyday questions, 20 of them near misses
    (tests/data/fresh_b*), asked of all six at once."""
    report = evaluate_file(DATA / "fresh_b_questions.jsonl", seeds_dir=DATA / "fresh_b")
    assert report.answerable == 62 and report.unanswerable == 20
    assert report.hit_at_1 >= 39 / 62  # measured 40 of 62 (words only: 33)
    assert report.hit_at_k >= 52 / 62  # measured 53
    assert report.recall >= 25 / 62  # measured 26 answered and right (words only: 15)
    assert report.declined >= 12 / 20  # measured 13 of 20 (words only: 17)


# Six more new articles each and 72 everyday questions, 15 of them near misses, written by a
# helper who had not seen the code: fresh_e, and fresh_g (a council vote, a recall, a court
# case, a study, a crash, a merger; new in the round that closed issue 17, never used to fit).
# Levels: right sentence first, answered and right, near misses declined.
@pytest.mark.parametrize(
    ("name", "hit_at_1", "recall", "declined"),
    [
        # measured 39 of 57 first (words only: 32), 27 answered and right (15), 9 of 15 (11)
        ("fresh_e", 38 / 57, 26 / 57, 8 / 15),
        # measured 25 of 57 first (words only: 21), 16 answered and right (12), 9 of 15 (11)
        ("fresh_g", 24 / 57, 15 / 57, 8 / 15),
    ],
)
def test_other_new_articles_keep_their_level(name, hit_at_1, recall, declined):
    report = evaluate_file(DATA / f"{name}_questions.jsonl", seeds_dir=DATA / name)
    assert report.answerable == 57 and report.unanswerable == 15
    assert report.hit_at_1 >= hit_at_1
    assert report.recall >= recall
    assert report.declined >= declined


def test_a_new_readers_questions_about_the_bundled_article_keep_their_level():
    """46 questions a new reader wrote about the bundled article without seeing the code."""
    report = evaluate_file(DATA / "niger_user_questions.jsonl", seeds_dir=SEEDS)
    assert report.answerable == 32 and report.unanswerable == 14
    assert report.hit_at_1 >= 18 / 32  # measured 19 of 32 (words only: 17)
    assert report.hit_at_k >= 25 / 32  # measured 26
    assert report.recall >= 9 / 32  # measured 10 answered and right (words only: 8)
    assert report.declined >= 11 / 14  # measured 12 of 14 (words only: 13)


def test_a_new_users_own_articles_keep_their_level():
    """Three articles a new user wrote, and 24 questions, 5 near misses (tests/data/trial_f*),
    written before the user saw an answer."""
    report = evaluate_file(DATA / "trial_f_questions.jsonl", seeds_dir=DATA / "trial_f")
    assert report.answerable == 19 and report.unanswerable == 5
    assert report.hit_at_1 >= 14 / 19  # measured 15 of 19 (words only: 14)
    assert report.recall >= 9 / 19  # measured 10 answered and right (words only: 5)
    assert report.declined >= 4 / 5  # measured 5 of 5


def test_wikiqa_format_is_scored_by_lines(tmp_path):
    tsv = tmp_path / "mini.tsv"
    question = "Q1\twho painted the mona lisa\tD1\tMona Lisa"
    rows = [
        "QuestionID\tQuestion\tDocumentID\tDocumentTitle\tSentenceID\tSentence\tLabel",
        f"{question}\tD1-0\tThe Mona Lisa is a portrait.\t0",
        f"{question}\tD1-1\tLeonardo da Vinci painted the Mona Lisa.\t1",
        f"{question}\tD1-2\tIt hangs in Paris.\t0",
    ]
    tsv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = evaluate_file(tsv, seeds_dir=SEEDS)
    assert report.questions == 1 and report.map == 1.0 and report.hit_at_1 == 1.0


def test_bad_question_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(CorpusError, match="line 1"):
        evaluate_file(bad, seeds_dir=SEEDS)
    with pytest.raises(CorpusError, match="Cannot read"):
        evaluate_file(tmp_path / "missing.jsonl", seeds_dir=SEEDS)
