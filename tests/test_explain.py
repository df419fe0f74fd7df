"""Why an answer: highlighted words, context for pointing-back quotes, score breakdowns,
acronyms the article defines, and answers that must hold a date or a number."""

from __future__ import annotations

import pytest

from corpus.answering.features import has_expected_answer
from corpus.answering.question import analyse_question
from corpus.indexing.acronyms import find_acronyms
from tests.conftest import build_corpus


def test_highlights_are_the_matched_words(article_corpus):
    quote = article_corpus.ask("What do Western governments fear?").quotes[0]
    words = [quote.text[s:e] for s, e in quote.highlights]
    assert words == ["Western", "governments", "fear"]


def test_a_quote_that_points_back_comes_with_the_sentence_before(article_corpus):
    quote = article_corpus.ask("What does this raise questions about?").quotes[0]
    assert quote.text.startswith("This raises questions")
    assert quote.lead_in is not None
    assert quote.lead_in.text.startswith("The Economic Community of West African States")
    assert quote.lead_in.citation.sentence_in_document == quote.citation.sentence_in_document - 1


def test_self_contained_quotes_have_no_lead_in(article_corpus):
    assert article_corpus.ask("Who is the head of the Wagner Group?").quotes[0].lead_in is None


def test_explanation_adds_up_to_the_score(article_corpus):
    quote = article_corpus.ask("Where will army chiefs meet?", explain=True).quotes[0]
    assert quote.explanation is not None
    assert set(quote.explanation.terms) == set(quote.matched_terms)
    assert sum(quote.explanation.features.values()) == pytest.approx(quote.score, abs=1e-3)
    assert article_corpus.ask("Where will army chiefs meet?").quotes[0].explanation is None


def test_acronyms_defined_in_the_text():
    texts = ["The North Atlantic Treaty Organization met. NATO said so.", "The UN and the US."]
    found = find_acronyms(texts)
    assert found["nato"] == ("north", "atlant", "treati", "organiz")
    assert "un" not in found  # no "United Nations" in these texts
    assert "us" not in found


def test_an_acronym_matches_its_long_form(article_corpus):
    quote = article_corpus.ask("What has ECOWAS threatened to do?").quotes[0]
    assert quote.text.startswith("The Economic Community of West African States")
    assert quote.coverage == 1.0
    highlighted = [quote.text[s:e] for s, e in quote.highlights]
    assert highlighted[:5] == ["Economic", "Community", "West", "African", "States"]


@pytest.mark.parametrize(
    "question",
    ["When did the coup in Niger happen?", "How many troops does France keep in Niger?"],
)
def test_dates_and_numbers_must_be_in_the_answer(article_corpus, question):
    answer = article_corpus.ask(question)
    assert not answer.found
    assert answer.quotes, "candidates are still listed"


@pytest.mark.parametrize(
    ("question", "expects"),
    [
        ("Who leads Mali?", "person"),
        ("On what date was Bazoum ousted?", "time"),
        ("How many people live there?", "number"),
        ("Which countries keep troops in Niger?", "place"),
        ("What did Putin say?", None),
    ],
)
def test_expected_kind_of_answer(question, expects):
    assert analyse_question(question).expects == expects


def test_multi_word_names_are_one_subject():
    assert analyse_question("What is the population of Burkina Faso?").names == (
        ("burkina", "faso"),
    )


@pytest.mark.parametrize(
    ("text", "holds_a_count"),
    [
        ("The blast claimed 168 lives on April 19, 1995.", True),
        ("The bombing took place on April 19, 1995.", False),  # a date is not a count
        ("It ran from 1951 to 1957.", False),
        ("Area code 949 covers South Orange County.", False),  # the question's own number
        ("About 6,000 people work there.", True),
        ("Two soldiers were hurt.", True),
    ],
)
def test_a_count_is_not_a_date_or_the_questions_own_number(text, holds_a_count):
    question = analyse_question("How many people does area code 949 serve?")
    assert has_expected_answer(text, question.expects, question.mentioned) == holds_a_count


def test_a_question_that_names_something_needs_what_it_asks_about(tmp_path):
    # "France" is rare here and "president" common, so the sentence naming France covers
    # most of the question's weight; it still says nothing about a president of France.
    leaders = " ".join(f"The president of {c} spoke." for c in ("Ghana", "Mali", "Chad", "Togo"))
    corpus = build_corpus(tmp_path, {"news": f"France signed the treaty in Rome. {leaders}"})
    assert analyse_question("Who is the president of France?").named == {"franc"}
    assert not corpus.ask("Who is the president of France?").found
    assert corpus.ask("What did France sign?").found
    assert corpus.ask("who signed the treaty").found  # names nothing: no such condition


def test_a_sentence_about_what_is_asked_answers(tmp_path):
    corpus = build_corpus(tmp_path, {"news": "The president of France is Emmanuel Macron."})
    answer = corpus.ask("Who is the president of France?")
    assert answer.found
    assert answer.quotes[0].text == "The president of France is Emmanuel Macron."
