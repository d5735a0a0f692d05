"""Spoken words onto written ones: the alignment, and the times each written word gets."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest

from pipelines.media.align import WordTiming, align, onto_written, written_words


def units(word: str) -> list[str]:
    return re.findall(r"[^\W_]+", word.lower())


def timed(text: str, spoken: list[tuple[str, float, float]], bounds=(0.0, 10.0)) -> list[WordTiming]:
    tokens = text.split()
    return onto_written(tokens, [units(t) for t in tokens], [(units(s), a, b) for s, a, b in spoken], bounds)


def test_the_alignment_has_the_fewest_edits():
    assert align(["a", "b", "c"], ["a", "b", "c"]) == [(0, 0), (1, 1), (2, 2)]
    assert align(["a", "b", "c"], ["a", "x", "c"]) == [(0, 0), (1, 1), (2, 2)]  # a substitution pairs them
    assert align(["a", "b", "c"], ["a", "c"]) == [(0, 0), (1, None), (2, 1)]
    assert align(["a", "c"], ["a", "b", "c"]) == [(0, 0), (None, 1), (1, 2)]
    assert align([], ["a"]) == [(None, 0)] and align(["a"], []) == [(0, None)] and align([], []) == []


def test_a_token_with_nothing_to_say_stays_with_its_neighbour():
    tokens = ["—", "One", "small", "step", "—", "for", "man!", "…"]
    assert [text for text, _ in written_words(tokens, [units(t) for t in tokens])] == [
        "— One",
        "small",
        "step —",
        "for",
        "man! …",
    ]
    assert written_words(["—", "…"], [[], []]) == [("— …", [])]  # nothing to say at all: one word
    assert written_words([], []) == []


def test_each_written_word_takes_the_times_of_what_was_said_of_it():
    words = timed(
        'Tom & Jerry "said" it.',
        [("Tom", 0.1, 0.3), ("Jerry", 0.5, 0.8), ("said", 0.9, 1.1), ("it", 1.2, 1.3)],
    )
    assert words == [
        WordTiming("Tom &", 0.1, 0.3),
        WordTiming("Jerry", 0.5, 0.8),
        WordTiming('"said"', 0.9, 1.1),
        WordTiming("it.", 1.2, 1.3),
    ]


def test_a_number_said_in_several_words_spans_all_of_them():
    words = timed(
        "In 1969, they flew.",
        [
            ("in", 0.1, 0.2),
            ("nineteen", 0.3, 0.6),
            ("sixty", 0.6, 0.9),
            ("nine", 0.9, 1.1),
            ("they", 1.3, 1.5),
        ]
        + [("flew", 1.5, 1.8)],
    )
    assert words[1] == WordTiming("1969,", 0.3, 1.1)
    assert [w.text for w in words] == ["In", "1969,", "they", "flew."]


def test_spoken_pieces_inside_one_written_word_merge():
    assert timed(
        "a well-known fact", [("a", 0, 0.1), ("well", 0.2, 0.4), ("known", 0.4, 0.7), ("fact", 0.8, 1)]
    ) == [
        WordTiming("a", 0, 0.1),
        WordTiming("well-known", 0.2, 0.7),
        WordTiming("fact", 0.8, 1),
    ]


def test_extra_speech_between_matched_words_is_no_words():
    words = timed("the moon", [("the", 0.1, 0.2), ("um", 0.3, 0.9), ("moon", 1.0, 1.3)])
    assert words == [WordTiming("the", 0.1, 0.2), WordTiming("moon", 1.0, 1.3)]


def test_words_nothing_was_aligned_to_share_the_time_between_their_neighbours():
    words = timed("one two three four five", [("one", 1.0, 1.2), ("five", 2.2, 2.5)])
    assert words == [
        WordTiming("one", 1.0, 1.2),
        WordTiming("two", 1.2, 1.533),
        WordTiming("three", 1.533, 1.867),
        WordTiming("four", 1.867, 2.2),
        WordTiming("five", 2.2, 2.5),
    ]
    # missed at the edges: from the start of the bounds, up to their end
    assert timed("one two three", [("two", 1.0, 1.5)], bounds=(0.5, 3.0)) == [
        WordTiming("one", 0.5, 1.0),
        WordTiming("two", 1.0, 1.5),
        WordTiming("three", 1.5, 3.0),
    ]
    assert timed("nothing was heard", [], bounds=(2.0, 5.0)) == [
        WordTiming("nothing", 2.0, 3.0),
        WordTiming("was", 3.0, 4.0),
        WordTiming("heard", 4.0, 5.0),
    ]


def test_a_misheard_word_takes_the_time_of_what_was_heard_in_its_place():
    words = timed("its main mirror", [("the", 0.1, 0.3), ("main", 0.4, 0.6), ("mirror", 0.7, 1.0)])
    assert words[0] == WordTiming("its", 0.1, 0.3)


@pytest.mark.parametrize(
    "spoken",
    [
        [("a", 0.5, 0.9), ("b", 0.7, 1.2), ("c", 1.0, 1.1)],  # overlapping
        [("a", 0.5, 0.9), ("b", 0.2, 0.3), ("c", 1.0, 1.1)],  # out of order
        [("a", -1.0, 0.2), ("b", 0.4, 0.6), ("c", 2.5, 9.0)],  # outside the bounds
    ],
)
def test_times_never_go_back_and_stay_inside_the_bounds(spoken):
    words = timed("a b c", spoken, bounds=(0.0, 2.0))
    assert [w.text for w in words] == ["a", "b", "c"]
    assert all(0.0 <= w.start <= w.end <= 2.0 for w in words)
    assert all(a.end <= b.start for a, b in pairwise(words))


def test_units_can_be_anything_that_compares_phonemes_too():
    # Piper's case: each written word phonemized on its own, the voice's phonemes with their times
    tokens = ["on", "the", "Moon."]
    written = [list("ɔn"), list("ðə"), list("muːn")]
    said = "ɔnðəmuːn"
    spoken = [((p,), 0.1 * k, 0.1 * (k + 1)) for k, p in enumerate(said)]
    assert onto_written(tokens, written, spoken, (0.0, 1.0)) == [
        WordTiming("on", 0.0, 0.2),
        WordTiming("the", 0.2, 0.4),
        WordTiming("Moon.", 0.4, 0.8),
    ]
