"""The word error rate's normaliser: what counts as the same words (contractions, numbers in digits or in
words, both languages) and what still counts as an error."""

from __future__ import annotations

import pytest

from pipelines.media.wer import compare, normalise


def test_numbers_case_and_punctuation_do_not_count_as_errors():
    assert normalise(
        "In 1969, 25% of 1,200 people — the 3rd group — flew 540 kilometres!", "en"
    ) == normalise(
        "in nineteen sixty-nine twenty-five percent of one thousand two hundred people the third group flew 540 kilometers",
        "en",
    )
    assert normalise("Em 1822, 1.500 pessoas (3,5%) viram o 1º imperador.", "pt-BR") == normalise(
        "em mil oitocentos e vinte e dois mil e quinhentos pessoas três vírgula cinco por cento viram "
        "o primeiro imperador",
        "pt-BR",
    )


@pytest.mark.parametrize(
    ("script", "heard"),
    [
        ("Here is what the sources say.", "Here's what the sources say."),
        ("It is not far.", "It's not far."),
        ("It is not far.", "It isn’t far."),
        ("Do not look, they did not.", "Don't look, they didn't."),
        ("We are here and they have gone.", "We're here and they've gone."),
        ("You can not see it.", "You can't see it."),
        ("You cannot see it.", "You can't see it."),
        ("It will not, and I am sure we will.", "It won't, and I'm sure we'll."),
        ("It has been a year; he would know.", "It's been a year; he'd know."),
        ("Let us see what is there.", "Let's see what's there."),
    ],
)
def test_contractions_are_the_words_they_stand_for(script, heard):
    assert normalise(script, "en") == normalise(heard, "en")
    assert compare(script, heard, "en")["wer"] == compare(heard, script, "en")["wer"] == 0


@pytest.mark.parametrize(
    ("language", "digits", "words"),
    [
        ("en", "In 1969.", "In nineteen sixty-nine."),
        ("en", "In 1969.", "in nineteen sixty nine"),
        ("en", "In 1969.", "in one thousand nine hundred and sixty-nine"),
        ("en", "In 1905.", "in nineteen oh five"),
        ("en", "In 2024.", "in twenty twenty-four"),
        ("en", "In 2024.", "in two thousand and twenty-four"),
        ("en", "1,000 years", "one thousand years"),
        ("en", "1,000 years", "a thousand years"),
        ("en", "1,000 years", "1000 years"),
        ("en", "1,500 people", "fifteen hundred people"),
        ("en", "1,500 people", "one thousand five hundred people"),
        ("en", "105 days", "a hundred and five days"),
        ("en", "1.5 million stars", "one point five million stars"),
        ("en", "1.5 million stars", "1,500,000 stars"),
        ("en", "the 3rd and 21st", "the third and twenty-first"),
        ("en", "25% of it", "twenty-five percent of it"),
        ("en", "25% of it", "25 per cent of it"),
        ("pt-BR", "Em 1822.", "Em mil oitocentos e vinte e dois."),
        ("pt-BR", "Em 2024.", "em dois mil e vinte e quatro"),
        ("pt-BR", "1.500 pessoas", "mil e quinhentos pessoas"),
        ("pt-BR", "1.500 pessoas", "1500 pessoas"),
        ("pt-BR", "2.000.000 de anos", "dois milhões de anos"),
        ("pt-BR", "3,5% do total", "três vírgula cinco por cento do total"),
        ("pt-BR", "110% do total", "cento e dez por cento do total"),
        ("pt-BR", "o 1º imperador e a 21ª", "o primeiro imperador e a vigésima primeira"),
    ],
)
def test_numbers_in_digits_or_in_words_compare_equal(language, digits, words):
    assert normalise(digits, language) == normalise(words, language)
    assert compare(digits, words, language)["wer"] == compare(words, digits, language)["wer"] == 0


def test_every_way_num2words_says_a_number_is_that_number():
    from num2words import num2words

    def said(n, lang, to="cardinal"):
        return num2words(n, lang=lang, to=to).replace(",", "")  # its "one thousand, two hundred"

    ordinal = {1: "st", 2: "nd", 3: "rd"}
    for n in [*range(0, 2100, 7), 1100, 1999, 2000, 2009, 10**6, 1_234_567, 20_000_000_001, 987_654_321_012]:
        assert normalise(said(n, "en"), "en") == normalise(str(n), "en"), n
        assert normalise(said(n, "pt_BR"), "pt-BR") == normalise(str(n), "pt-BR"), n
        if 1100 <= n < 2100:
            assert normalise(said(n, "en", "year"), "en") == normalise(str(n), "en"), n
        if 0 < n < 2000:
            suffix = "th" if n % 100 in (11, 12, 13) else ordinal.get(n % 10, "th")
            assert normalise(said(n, "en", "ordinal"), "en") == normalise(f"{n}{suffix}", "en"), n
            assert normalise(said(n, "pt_BR", "ordinal"), "pt-BR") == normalise(f"{n}º", "pt-BR"), n
    for n in ("1.5", "3.14", "0.05", "1000.5"):
        assert normalise(said(float(n), "en"), "en") == normalise(n, "en"), n
        assert normalise(said(float(n), "pt_BR"), "pt-BR") == normalise(n.replace(".", ","), "pt-BR"), n


@pytest.mark.parametrize(
    ("language", "script", "heard"),
    [
        ("en", "here is what the sources say", "here's what the source says"),  # plural vs singular
        ("en", "the telescope's mirror", "the telescope is mirror"),  # a possessive is no "is"
        ("en", "in 1969", "in nineteen sixty-eight"),
        ("en", "the 3rd", "the fourth"),
        ("en", "1.5 million stars", "fifteen million stars"),
        ("pt-BR", "as fontes", "a fonte"),
        ("pt-BR", "em 1822", "em mil oitocentos e vinte e três"),
        ("pt-BR", "o primeiro", "a primeira"),
    ],
)
def test_a_real_misreading_still_counts(language, script, heard):
    assert compare(script, heard, language)["wer"] > 0
