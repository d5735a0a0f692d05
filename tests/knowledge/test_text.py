"""Claim sentences: abbreviations stay inside their sentence, claims are whole sentences."""

from __future__ import annotations

import pytest

from knowledge import text as sentences


def test_sentences_keep_abbreviations_together_in_english():
    text = (
        "The idea came from Dr. Lyman Spitzer, who wrote about it in 1946. It flew on the U.S. Space "
        "Shuttle Discovery in April 1990. President John F. Kennedy set the goal of a Moon landing. "
        "The record is listed as No. 5 in the official NASA catalogue. Mr. Armstrong stepped onto the "
        "surface first. Then the crew went home."
    )
    assert sentences.split(text, "en") == [
        "The idea came from Dr. Lyman Spitzer, who wrote about it in 1946.",
        "It flew on the U.S. Space Shuttle Discovery in April 1990.",
        "President John F. Kennedy set the goal of a Moon landing.",
        "The record is listed as No. 5 in the official NASA catalogue.",
        "Mr. Armstrong stepped onto the surface first.",
        "Then the crew went home.",
    ]


def test_sentences_keep_abbreviations_together_in_portuguese():
    text = (
        "Em 49 a.C. César atravessou o rio Rubicão com uma legião. O Sr. Silva visitou o museu em 2019 com "
        "a família. O Mal. Deodoro da Fonseca proclamou a República em 1889. A obra foi escrita no séc. XIX "
        "por um autor carioca. Ele reinou depois de D. Pedro I. Em seguida veio a Regência. O calendário "
        "juliano entrou em vigor em 45 a.C. e durou muitos séculos."
    )
    assert sentences.split(text, "pt-BR") == [
        "Em 49 a.C. César atravessou o rio Rubicão com uma legião.",
        "O Sr. Silva visitou o museu em 2019 com a família.",
        "O Mal. Deodoro da Fonseca proclamou a República em 1889.",
        "A obra foi escrita no séc. XIX por um autor carioca.",
        "Ele reinou depois de D. Pedro I.",  # a Roman numeral after a name still ends the sentence
        "Em seguida veio a Regência.",
        "O calendário juliano entrou em vigor em 45 a.C. e durou muitos séculos.",
    ]


def test_claims_are_complete_sentences_of_6_to_60_words():
    long = "The telescope " + "really " * 60 + "works."
    text = (
        f"Hubble orbits Earth. {long} The mirror was ground to the wrong shape in 1990. Since then the "
        "telescope has made more than ... \nA list item without a full stop at all here\n"
        "... and it was launched in April 1990 by the crew."
    )
    assert sentences.claim_sentences(text, "en") == ["The mirror was ground to the wrong shape in 1990."]
    with pytest.raises(ValueError, match="pt-BR"):
        sentences.split("x", "fr")
