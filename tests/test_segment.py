from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.ingest.segment import (
    _paragraph_spans_by_line,
    _paragraph_spans_by_pattern,
    paragraph_spans,
    segment_text,
    sentence_spans,
)


def sentences(text: str) -> list[str]:
    return [
        text[s:e]
        for p_start, p_end in paragraph_spans(text)
        for s, e in sentence_spans(text, p_start, p_end)
    ]


def test_every_line_is_a_paragraph_when_there_are_no_blank_lines():
    text = "First paragraph here.\nSecond one.\n\n"
    assert [text[s:e] for s, e in paragraph_spans(text)] == ["First paragraph here.", "Second one."]


def test_blank_lines_separate_paragraphs_and_single_newlines_wrap():
    text = "A wrapped\nparagraph.\n\nAnother\none.\n"
    assert [text[s:e] for s, e in paragraph_spans(text)] == [
        "A wrapped\nparagraph.",
        "Another\none.",
    ]


def test_windows_line_endings():
    text = "One.\r\nTwo.\r\n"
    assert [text[s:e] for s, e in paragraph_spans(text)] == ["One.", "Two."]


def test_abbreviations_do_not_end_sentences():
    text = "Dr. Smith met Mr. Jones in the U.S. Army base. They talked, e.g. about trade. It ended."
    assert sentences(text) == [
        "Dr. Smith met Mr. Jones in the U.S. Army base.",
        "They talked, e.g. about trade.",
        "It ended.",
    ]


def test_acronym_at_the_end_of_a_sentence_followed_by_an_opener():
    assert sentences("Troops left the U.S. The talks went on.") == [
        "Troops left the U.S.",
        "The talks went on.",
    ]


def test_initials_and_numbers():
    assert sentences("J. R. Smith won No. 5 at 3.5 points. Next came Ann.") == [
        "J. R. Smith won No. 5 at 3.5 points.",
        "Next came Ann.",
    ]


def test_quotation_marks_stay_with_their_sentence():
    text = "He said: “We will stay.” Then he left. ‘Why?’ she asked."
    assert sentences(text) == ["He said: “We will stay.”", "Then he left.", "‘Why?’ she asked."]


def test_question_and_exclamation_marks():
    assert sentences("Is it over? No! It goes on.") == ["Is it over?", "No!", "It goes on."]


def test_a_line_without_a_final_period_is_a_sentence():
    text = "The end came.\nNews Agencies contributed to this report"
    assert sentences(text) == ["The end came.", "News Agencies contributed to this report"]


def test_the_article_segments_into_its_paragraphs(article_text):
    spans = paragraph_spans(article_text)
    assert len(spans) == 14
    assert article_text[slice(*spans[-1])] == "News Agencies contributed to this report"


@given(st.text(alphabet=st.sampled_from(list("ab .!?\n\u201c\u201dXY.\u2019")), max_size=80))
def test_sentences_are_slices_that_cover_every_visible_character(text):
    covered = [False] * len(text)
    previous_end = 0
    for p_start, p_end in paragraph_spans(text):
        for start, end in sentence_spans(text, p_start, p_end):
            assert previous_end <= start < end
            assert text[start:end] == text[start:end].strip()
            covered[start:end] = [True] * (end - start)
            previous_end = end
    for position, char in enumerate(text):
        assert covered[position] or char.isspace(), (text, position)


@given(st.text(max_size=200))
def test_any_text_segments_without_error(text):
    for p_start, p_end in paragraph_spans(text):
        for start, end in sentence_spans(text, p_start, p_end):
            assert re.search(r"\S", text[start:end])


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(["\n", "\n\n", " ", "\t", "\f", "\u00a0", "a", "b. C", "x"]), max_size=25
    ).map("".join)
)
def test_paragraphs_by_line_match_the_patterns(text):
    # Long texts with plain newlines are split line by line, for speed; the patterns are the
    # definition.
    assert _paragraph_spans_by_line(text) == _paragraph_spans_by_pattern(text)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["\n", "\n\n", " ", "Ab", "c", ".", "!", "?", "”", '"', ")", "Dr.", "U.S.", "…", "3"]
        ),
        max_size=30,
    ).map("".join)
)
def test_one_pass_over_the_text_splits_as_paragraph_by_paragraph(text):
    paragraphs, sentences = segment_text(text)
    expected = [
        (p, n, start, end)
        for p, (p_start, p_end) in enumerate(paragraph_spans(text), start=1)
        for n, (start, end) in enumerate(sentence_spans(text, p_start, p_end), start=1)
    ]
    assert paragraphs == paragraph_spans(text)
    assert sentences == expected
