from __future__ import annotations

import pytest

from corpus import BadQuestionError
from corpus.segment import is_dangling
from corpus.summarize import SENTENCES_BY_LENGTH
from tests.conftest import build_corpus


@pytest.mark.parametrize("length", ["short", "medium", "long"])
def test_summary_is_verbatim_in_article_order_and_of_its_length(
    article_corpus, article_text, length
):
    summary = article_corpus.summarize(length=length)
    assert summary.found
    assert len(summary.quotes) == SENTENCES_BY_LENGTH[length]
    starts = [q.citation.start for q in summary.quotes]
    assert starts == sorted(starts)
    for quote in summary.quotes:
        assert article_text[quote.citation.start : quote.citation.end] == quote.text


def test_longer_summaries_say_more(article_corpus):
    short, long = (article_corpus.summarize(length=n) for n in ("short", "long"))
    assert sum(len(q.text) for q in short.quotes) < sum(len(q.text) for q in long.quotes)


def test_summary_opens_with_the_lead_and_skips_the_credit_line(article_corpus):
    summary = article_corpus.summarize(length="long")
    assert summary.quotes[0].text.startswith("In the midst of the ongoing crisis in Niger")
    assert all("contributed to this report" not in q.text for q in summary.quotes)


def test_no_summary_opens_on_a_dangling_pronoun(article_corpus):
    for length in SENTENCES_BY_LENGTH:
        for topic in (None, "Mali", "Wagner mercenaries", "military intervention"):
            summary = article_corpus.summarize(length=length, topic=topic)
            if summary.quotes:
                assert not is_dangling(summary.quotes[0].text), (length, topic)


def test_dangling_sentence_comes_with_the_one_before(tmp_path):
    text = (
        "Goats graze on the hill. They eat grass all day long near the old farm.\n"
        "Sharks swim in the bay far away from here."
    )
    corpus = build_corpus(tmp_path, {"d": text})
    summary = corpus.summarize(length="short", topic="grass")
    assert [q.text for q in summary.quotes] == [
        "Goats graze on the hill.",
        "They eat grass all day long near the old farm.",
    ]


def test_topic_summary_only_quotes_the_topic(article_corpus):
    summary = article_corpus.summarize(topic="Wagner Group", length="medium")
    assert summary.found
    assert any("Wagner" in q.text for q in summary.quotes)
    for quote in summary.quotes:
        assert "Wagner" in quote.text or "mercenaries" in quote.text or not quote.answers_question


def test_topic_the_article_never_mentions(article_corpus):
    summary = article_corpus.summarize(topic="Japanese economy")
    assert not summary.found
    assert "Japanese economy" in summary.reason
    assert summary.quotes == ()


def test_topic_of_common_words_only_is_refused(article_corpus):
    with pytest.raises(BadQuestionError, match="only common words"):
        article_corpus.summarize(topic="what about it")


@pytest.mark.parametrize(
    ("text", "dangling"),
    [
        ("This raises questions.", True),
        ("However, no.", True),
        ("“They left.”", True),
        ("The call came.", False),
        ("Therein lies it.", False),
        ("It’s over.", True),
    ],
)
def test_dangling_openers(text, dangling):
    assert is_dangling(text) is dangling


def test_a_large_collection_needs_a_topic_or_an_article(tmp_path):
    texts = {
        f"d{n:02d}": f"Report {n} says goats graze on the hill near town {n}." for n in range(30)
    }
    corpus = build_corpus(tmp_path, texts)
    summary = corpus.summarize()
    assert not summary.found and "30 articles" in summary.reason
    assert corpus.summarize(doc_id="d03").found
    assert corpus.summarize(topic="goats").found
