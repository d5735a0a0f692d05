"""What the offline providers understand of a reviewer's "request changes" notes.

They are not language models: they react to a few plain words (English and Portuguese) and record the
rest. The script and the review page say which notes a revision addresses; Groq (issue 4) reads them all."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORDS = {
    "shorter": ("length", 0.75), "mais curto": ("length", 0.75), "encurtar": ("length", 0.75),
    "longer": ("length", 1.25), "mais longo": ("length", 1.25),
    "slower": ("rate", 0.85), "mais devagar": ("rate", 0.85), "mais lento": ("rate", 0.85),
    "faster": ("rate", 1.15), "mais rápido": ("rate", 1.15),
}


@dataclass(frozen=True)
class Adjustments:
    length: float = 1.0  # multiplies the script's target length
    rate: float = 1.0  # multiplies the voice's words per minute
    understood: tuple[str, ...] = ()


def read(notes: str | None) -> Adjustments:
    found = {}
    words = []
    for phrase, (key, factor) in _WORDS.items():
        if notes and re.search(rf"\b{re.escape(phrase)}\b", notes, re.I):
            found[key] = factor
            words.append(phrase)
    return Adjustments(length=found.get("length", 1.0), rate=found.get("rate", 1.0), understood=tuple(words))
