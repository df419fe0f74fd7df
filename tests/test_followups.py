"""Follow-up questions: read with the exchange before them, extractively."""

from __future__ import annotations

import subprocess
import sys

import pytest

from corpus import Corpus
from corpus.answering.followup import Exchange, points_back, read_follow_up
from tests.conftest import PROJECT, make_seeds

ARTICLES = {
    "ferry": (
        "Ferry union calls a strike\n\n"
        "The ferry workers' union leader, Ana Ruiz, called a two-day strike on Monday over "
        "pay.\n\nShe was elected leader of the union in 2019, after ten years as a deckhand.\n\n"
        "The strike will stop every crossing to the islands on Thursday and Friday."
    ),
    "bakery": (
        "Baker becomes mayor\n\n"
        "The bakery owner, Tom Okafor, opened his first shop on the harbour in 2005.\n\n"
        "He was elected mayor of the town in 2021 with a large majority.\n\n"
        "Bread prices at his shops rose by ten percent this year."
    ),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return Corpus.open(make_seeds(tmp_path_factory.mktemp("seeds"), ARTICLES), encoder=False)


@pytest.mark.parametrize(
    ("question", "leans"),
    [
        ("when was she elected?", True),
        ("what did they say about it", True),
        ("and in 2005?", True),
        ("What about the bakery?", True),
        ("what kind of borrowing does that cover?", True),
        ("what time?", True),
        ("Who owns the bakery?", False),
        ("Who is Putin?", False),
        ("How many people does Exel employ?", False),
    ],
)
def test_a_follow_up_is_told_from_a_question_that_stands_alone(question, leans):
    assert points_back(question) is leans


def test_a_follow_up_carries_the_earlier_words_and_article_never_new_ones():
    earlier = Exchange("Who leads the ferry union?", "ferry", quoted_start=27)
    read = read_follow_up("when was she elected?", earlier)
    assert read.text == "when was she elected? leads ferry union"
    assert (read.doc_id, read.earlier, read.quoted_start) == ("ferry", earlier.question, 27)
    assert read_follow_up("Who owns the bakery?", earlier).earlier is None
    assert read_follow_up("when was she elected?", None).text == "when was she elected?"


def test_the_follow_up_is_answered_from_the_earlier_answers_article(corpus):
    first = corpus.ask("Who leads the ferry union?")
    assert first.found and "Ana Ruiz" in first.quotes[0].text
    second = corpus.ask("when was she elected?", previous=Exchange.of(first))
    assert second.found and second.quotes[0].text.startswith("She was elected leader")
    assert second.follows == "Who leads the ferry union?"
    assert second.question == "when was she elected?"
    # The other article's "He was elected mayor" is about someone else.
    owner = corpus.ask("Who owns the bakery?")
    again = corpus.ask("when was he elected?", previous=Exchange.of(owner))
    assert again.quotes[0].text.startswith("He was elected mayor")
    assert again.quotes[0].text != owner.quotes[0].text  # a follow-up asks for more


def test_a_question_that_names_its_subject_stands_alone(corpus):
    first = corpus.ask("Who leads the ferry union?")
    other = corpus.ask("Who owns the bakery?", previous=Exchange.of(first))
    assert other.follows is None and "Tom Okafor" in other.quotes[0].text


def test_chat_reads_a_follow_up_with_the_question_before_and_says_so(tmp_path):
    seeds = make_seeds(tmp_path / "seeds", ARTICLES)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--seeds", str(seeds)],
        input="Who leads the ferry union?\nwhen was she elected?\n",
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env={
            "PATH": "/usr/bin:/bin",
            "ENCODER": "off",
            "CACHE_DIR": str(tmp_path / "c"),
            "HOME": str(tmp_path),
        },
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    read_with = "(Read with your earlier question: “Who leads the ferry union?”)"
    assert read_with in done.stdout
    after = done.stdout.split(read_with, 1)[1]
    assert "She was elected leader of the union in 2019" in after
