from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.tokenize import TermNumbering, acronym_words, content_words, stem, tokenize


def test_case_folding_and_stemming():
    assert tokenize("Coups COUPED coup") == ["coup", "coup", "coup"]


def test_curly_and_straight_possessives():
    assert tokenize("Mali’s leader") == tokenize("Mali's leader") == ["mali", "leader"]


def test_stopwords_and_question_words_are_dropped():
    assert tokenize("What is it?") == []
    assert tokenize("Who is the head of the group?") == ["head", "group"]


def test_contractions_are_stopwords_with_either_apostrophe():
    assert tokenize("don’t won't") == []


def test_acronyms_in_capitals_are_not_pronouns():
    assert content_words("The US and the U.S. backed us") == ["us", "us", "backed"]


def test_shouted_text_is_not_full_of_acronyms():
    assert tokenize("WHAT IS IT ABOUT THE ARMY") == ["armi"]


def test_hyphens_split_words():
    assert tokenize("pro-Russia sentiment") == ["pro", "russia", "sentiment"]


def test_unicode_compatibility_forms_fold():
    assert tokenize("ﬁnance Ｎｉｇｅｒ") == tokenize("finance Niger")


def test_emoji_and_right_to_left_text_do_not_break_it():
    assert tokenize("🇳🇪 Niger 👍") == ["niger"]
    assert tokenize("النيجر Niger") == ["النيجر", "niger"]


def test_the_same_tokenizer_for_questions_and_text():
    assert set(tokenize("Who leads Mali's military?")) <= set(
        tokenize("Mali’s military leader leads the military")
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"aAbBsSuUiIt.'’`- \n3éǄﬁ", "US", "IT", "U.S.", " ", "x. "]),
        max_size=30,
    ).map("".join)
)
def test_the_fast_tokenizer_agrees_with_the_word_rules(text):
    # tokenize() remembers each distinct word's stem; it must give exactly the stems of
    # content_words(), which questions go through, or questions would miss their words.
    assert tokenize(text) == [stem(word) for word in content_words(text)]
    assert tokenize(text) == [stem(word) for word in content_words(text)]  # from the cache


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(
                [
                    *"aAbB sS.'’`-_\n3é—“",
                    *["US", "IT", "U.S.", "3.5", "x. ", "THE CAT SAT ON MY HAT "],
                    *["ECOWAS", "ECOWAS's", "NATO-led", "AB_CD", "ＡＢ"],
                ]
            ),
            max_size=20,
        ).map("".join),
        max_size=6,
    )
)
def test_a_corpus_read_at_once_has_each_texts_own_tokens(texts):
    # An index reads its corpus through TermNumbering, chunk by chunk; a question goes through
    # tokenize(). Any difference would make a question miss words the article holds.
    numbering = TermNumbering()
    for _ in range(2):  # a second time from its caches
        ids, counts, acronyms = numbering.tokenize_many(texts)
        bounds = [0, *itertools.accumulate(counts.tolist())]
        for i, text in enumerate(texts):
            found = [numbering.terms[t] for t in ids[bounds[i] : bounds[i + 1]].tolist()]
            assert found == tokenize(text)
        assert acronyms == acronym_words(texts)


def test_terms_are_numbered_as_met_and_capital_stopwords_last():
    numbering = TermNumbering()
    ids, counts, acronyms = numbering.tokenize_many(
        ["Goats eat grass.", "The US grows grass; goats roam."]
    )
    assert numbering.terms == ["goat", "eat", "grass", "grow", "roam", "us"]
    assert ids.tolist() == [0, 1, 2, 5, 3, 2, 0, 4]
    assert counts.tolist() == [3, 5]
    assert acronyms == {"us"}
