"""What the offline providers understand of a reviewer's "request changes" notes.

They are not language models: they react to a few plain phrases (English and Portuguese) and record the
rest. Length ("shorter", "mais curto") and speed ("slower", "mais devagar"); what to open with ("start
with the launch date", "comece com a coroação"); what to leave out ("drop the part about the mirror",
"remova a parte sobre Portugal"). The script and the review page say which notes a revision addresses;
Groq reads them all."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORDS = {
    "shorter": ("length", 0.75),
    "mais curto": ("length", 0.75),
    "encurtar": ("length", 0.75),
    "longer": ("length", 1.25),
    "mais longo": ("length", 1.25),
    "slower": ("rate", 0.85),
    "mais devagar": ("rate", 0.85),
    "mais lento": ("rate", 0.85),
    "faster": ("rate", 1.15),
    "mais rápido": ("rate", 1.15),
}


_CLAUSE = r"\s+(?:with|about|on|com|sobre|a parte sobre|the part about|the bit about)?\s*([^.,;!?]+)"
_LEAD = re.compile(r"\b(?:start|begin|open|lead|comece|começar|comecar|abra|abrir)\b" + _CLAUSE, re.I)
_DROP = re.compile(
    r"\b(?:drop|remove|cut|leave out|skip|don't mention|do not mention|without|remova|remover|"
    r"tire|tirar|corte|cortar|sem mencionar|não mencione|nao mencione)\b" + _CLAUSE,
    re.I,
)


@dataclass(frozen=True)
class Adjustments:
    length: float = 1.0  # multiplies the script's target length
    rate: float = 1.0  # multiplies the voice's words per minute
    understood: tuple[str, ...] = ()
    lead: str | None = None  # what the script should open with
    drop: tuple[str, ...] = ()  # what it should leave out


def read(notes: str | None) -> Adjustments:
    found = {}
    words = []
    for phrase, (key, factor) in _WORDS.items():
        if notes and re.search(rf"\b{re.escape(phrase)}\b", notes, re.I):
            found[key] = factor
            words.append(phrase)
    lead = _LEAD.search(notes or "")
    drop = tuple(m.group(1).strip() for m in _DROP.finditer(notes or ""))
    words += [m.group(0).strip() for m in (lead,) if m] + [
        m.group(0).strip() for m in _DROP.finditer(notes or "")
    ]
    return Adjustments(
        length=found.get("length", 1.0),
        rate=found.get("rate", 1.0),
        understood=tuple(words),
        lead=lead.group(1).strip() if lead else None,
        drop=drop,
    )
