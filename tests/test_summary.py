from __future__ import annotations

import math
from collections import Counter

import pytest

from corpus import BadQuestionError
from corpus.answering.summarize import SENTENCES_BY_LENGTH
from corpus.ingest.segment import is_dangling
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


def test_a_quote_said_by_a_pronoun_comes_with_the_sentence_that_names_who(tmp_path):
    text = (
        "The ferry workers' union leader, Ana Ruiz, spoke at the harbour on Monday.\n"
        "“The ferry crews will strike for a fair wage rise,” she said.\n"
        "Sharks swim in the bay far away from here."
    )
    corpus = build_corpus(tmp_path, {"d": text})
    summary = corpus.summarize(length="short", topic="ferry strike wage")
    texts = [q.text for q in summary.quotes]
    assert "“The ferry crews will strike for a fair wage rise,” she said." in texts
    assert texts[0].startswith("The ferry workers' union leader, Ana Ruiz")


def test_a_sentence_quoted_already_is_not_shown_again_as_a_lead_in(tmp_path):
    """A long summary that quotes a sentence and the dangling one after it shows each once."""
    text = (
        "The ferry council met on Monday to vote on the winter timetable.\n\n"
        "Islanders have waited a long time for a reliable service, the mayor said.\n\n"
        "This was welcomed by the island's traders and its school.\n\n"
        "The new boats will arrive from the shipyard in the spring."
    )
    corpus = build_corpus(tmp_path, {"d": text})
    summary = corpus.summarize(length="long")
    shown = [q.lead_in.text for q in summary.quotes if q.lead_in] + [q.text for q in summary.quotes]
    assert len(shown) == len(set(shown)) == 4


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
        ("“We will not leave the harbour,” she said.", True),
        ('"We will stay", he told reporters on Monday.', True),
        ("In 2019, she became the first mayor of the town.", True),
        ("Ana Ruiz said she was pleased with the vote.", False),
        ("Officials said they told him to leave.", False),
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


def _central_reference(corpus, doc_id: str) -> list[str]:
    """Sentences by centrality, computed the plain way (a Counter per sentence, every cosine
    worked out in full), to check the summariser's one-pass arithmetic against."""
    index = corpus.index
    span = index.spans[doc_id].sentences
    vectors = {}
    for p in span:
        tokens = index.sentence_tokens[p]
        text = index.sentences.text(p)
        if len(tokens) >= 4 and text.rstrip("\"'\u201d\u2019)]").endswith((".", "!", "?")):
            vectors[p] = Counter({t: c * index.sentence_idf(t) for t, c in Counter(tokens).items()})
    centroid = sum(vectors.values(), Counter())
    centroid_norm = math.sqrt(sum(w * w for w in centroid.values()))
    scores = {}
    for rank, (p, vector) in enumerate(vectors.items()):
        dot = sum(w * centroid[t] for t, w in vector.items())
        norm = math.sqrt(sum(w * w for w in vector.values())) * centroid_norm
        scores[p] = dot / norm * (1 + 0.5 / (1 + rank))
    return [index.sentences.text(p) for p in sorted(scores, key=lambda p: (-scores[p], p))]


def _long_article(topic: str, sentences: int) -> str:
    fillers = ["weather", "parking", "library", "bakery", "concert", "garden", "bridge", "ferry"]
    lines = [f"The {topic} council met on Monday to plan the {topic} harbour project."]
    for n in range(1, sentences):
        if n % 9 == 0:
            lines.append(f"Residents said the {topic} harbour project would help {topic} trade.")
        else:
            lines.append(f"A note on the {fillers[n % len(fillers)]} number {n} was read out.")
    return " ".join(lines)


def test_summary_of_a_long_article_picks_the_most_central_sentences(tmp_path):
    corpus = build_corpus(tmp_path, {"port": _long_article("Selim", 120)})
    summary = corpus.summarize(length="long")
    reference = _central_reference(corpus, "port")
    picked = [q.text for q in summary.quotes]
    assert len(picked) == 8 and len(corpus.index.spans["port"].sentences) == 120
    # The repeated sentence is quoted once, never twice; the rest follow centrality.
    assert picked.count("Residents said the Selim harbour project would help Selim trade.") == 1
    expected = list(dict.fromkeys(reference))[:8]
    assert sorted(picked) == sorted(expected)


def test_summary_of_several_articles_draws_on_each(tmp_path):
    corpus = build_corpus(
        tmp_path, {"a": _long_article("Selim", 40), "b": _long_article("Riverton", 40)}
    )
    summary = corpus.summarize(length="medium")
    docs = {q.citation.doc_id for q in summary.quotes}
    assert docs == {"a", "b"}
    for quote in summary.quotes:
        distinct = list(dict.fromkeys(_central_reference(corpus, quote.citation.doc_id)))
        assert quote.text in distinct[:4]
