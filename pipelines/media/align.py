"""Spoken words onto written ones: when each word of a text was said.

A voice or a listener gives spoken pieces with times (Azure's word boundaries, Piper's phonemes, the words
Whisper heard); captions need the text's own words ("Moon," as written, "1969" as one word). The caller cuts
both sides into units that compare (normalised words, phonemes); they are aligned with the fewest edits, and
each written word (a whitespace token) takes the times of the spoken units aligned to it:
- a token with nothing to say (no units: a lone "—") stays with its neighbour, the word before it (after it,
  at the start);
- between two units that match exactly, the spoken units belong to the written words there: a substituted
  unit to its word, an extra one to the word before it there (after it, at the start of the stretch), so "1969"
  said as "nineteen sixty-nine" spans all of it; extra speech with no written word around it is no word's;
- a written word nothing was aligned to shares the time between its neighbours;
- times never go back, and stay inside the given bounds.

Plain data in and out, so voices and QA can use it without this module knowing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class WordTiming(NamedTuple):
    """A written word and when it was said, in seconds from the start of its audio."""

    text: str  # the written word, with any unspoken token that rides with it ("step\" —")
    start: float  # seconds
    end: float


def align(expected: Sequence[str], heard: Sequence[str]) -> list[tuple[int | None, int | None]]:
    """A minimum-edit alignment: pairs (expected index, heard index) in order, a substitution pairing two
    different units; None on the side a unit is missing."""
    n, m = len(expected), len(heard)
    cost = [list(range(m + 1))] + [[i] + [0] * m for i in range(1, n + 1)]
    for i in range(1, n + 1):
        row, above, e = cost[i], cost[i - 1], expected[i - 1]
        for j in range(1, m + 1):
            row[j] = min(above[j - 1] + (e != heard[j - 1]), above[j] + 1, row[j - 1] + 1)
    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (expected[i - 1] != heard[j - 1]):
            i, j = i - 1, j - 1
            pairs.append((i, j))
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
            pairs.append((i, None))
        else:
            j -= 1
            pairs.append((None, j))
    return pairs[::-1]


def written_words(tokens: Sequence[str], units: Sequence[Sequence[str]]) -> list[tuple[str, list[str]]]:
    """The written words [(text, units)]: each token with units, and with it the tokens around it that have
    none (the ones after it; before it too, for the first). A text with nothing to say is one word."""
    words: list[tuple[str, list[str]]] = []
    pending: list[str] = []
    for token, said in zip(tokens, units, strict=True):
        if said:
            words.append((" ".join([*pending, token]), list(said)))
            pending = []
        elif words:
            words[-1] = (f"{words[-1][0]} {token}", words[-1][1])
        else:
            pending.append(token)
    return words or ([(" ".join(pending), [])] if pending else [])


def onto_written(
    tokens: Sequence[str],
    units: Sequence[Sequence[str]],
    spoken: Sequence[tuple[Sequence[str], float, float]],
    bounds: tuple[float, float],
) -> list[WordTiming]:
    """Times for the written `tokens` (each with its `units`) from `spoken` pieces [(units, start, end)] in
    order, inside `bounds` (start, end): one WordTiming per written word, in order, rounded to the millisecond."""
    words = written_words(tokens, units)
    ref = [(u, w) for w, (_, said) in enumerate(words) for u in said]
    hyp = [(u, j) for j, (said, _, _) in enumerate(spoken) for u in said]
    times: list[list[float]] = [[] for _ in words]

    def give(w: int, j: int) -> None:
        times[w] += [spoken[j][1], spoken[j][2]]

    here: int | None = None  # the last written word since the last exact match
    early: list[int] = []  # spoken units since then, before any written word
    for i, j in align([u for u, _ in ref], [u for u, _ in hyp]):
        if i is not None and j is not None and ref[i][0] == hyp[j][0]:
            give(ref[i][1], hyp[j][1])
            here, early = None, []
        elif i is not None:
            here = ref[i][1]
            for k in early + ([hyp[j][1]] if j is not None else []):
                give(here, k)
            early = []
        else:
            assert j is not None, "align() leaves out one side of a pair, never both"
            if here is not None:
                give(here, hyp[j][1])
            else:
                early.append(hyp[j][1])

    lo, hi = bounds
    out: list[WordTiming] = []

    def put(w: int, start: float, end: float) -> None:
        start = round(min(max(start, lo), hi), 3)
        out.append(WordTiming(words[w][0], start, round(min(max(end, start), hi), 3)))

    w = 0
    while w < len(words):
        if times[w]:
            put(w, max(min(times[w]), out[-1].end if out else lo), max(times[w]))
            w += 1
            continue
        run_end = next((n for n in range(w, len(words)) if times[n]), len(words))
        start = out[-1].end if out else lo
        end = max(start, min(times[run_end]) if run_end < len(words) else hi)
        step = (end - start) / (run_end - w)
        for n in range(w, run_end):
            put(n, start + (n - w) * step, start + (n - w + 1) * step)
        w = run_end
    return out
