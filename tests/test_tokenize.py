from __future__ import annotations

from corpus.tokenize import content_words, tokenize


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
