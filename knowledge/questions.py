"""The questions a video on a topic must answer, and how well the channel's stored facts answer each.

A documentary-style video answers the same few questions whatever its subject: what it is, when it
happened, who was involved, how it worked, why it mattered, and what came after. Each question has a
test a stored fact can pass (a year for "when", a name other than the topic's own for "who", cue words
for the others) and a research phrase that goes with the topic to a search engine when the question is
a gap. This is deliberately plain and language-aware rather than clever: it is deterministic, costs no
model call, and the script review shows the reviewer what was asked and what answered it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from knowledge.text import content_stems, entities, fold

ANSWERS_NEEDED = 2  # facts for a question to count as answered (one answer is a score of 0.5)


@dataclass(frozen=True)
class Question:
    key: str
    text: str  # shown to the reviewer, in the channel's language; {topic} is filled in
    research: str  # added to the topic when this question goes to an external search
    cues: tuple[str, ...] = ()  # folded word prefixes that mark an answer (what/how/why/after)


_MONTHS = (
    "january february march april may june july august september october november december "
    "janeiro fevereiro marco abril maio junho julho agosto setembro outubro novembro dezembro"
).split()

_ROLES = (
    "astronaut",
    "scientist",
    "astronomer",
    "engineer",
    "king",
    "queen",
    "emperor",
    "president",
    "leader",
    "crew",
    "team",
    "general",
    "inventor",
    "explorer",
    "rei ",
    "rainha",
    "imperador",
    "presidente",
    "cientista",
    "astronauta",
    "engenheir",
    "lider",
    "tripulac",
    "equipe",
    "inventor",
    "explorador",
)

QUESTIONS: dict[str, list[Question]] = {
    "en": [
        Question(
            "what", "What is {topic}?", "overview", ("is ", "was ", "are ", "were ", "known as ", "called ")
        ),
        Question("when", "When did it happen, and in what order?", "history timeline"),
        Question("who", "Who was involved?", "people"),
        Question(
            "how",
            "How did it work or happen?",
            "how it works",
            (
                "how",
                "using",
                "used",
                "built",
                "design",
                "process",
                "method",
                "system",
                "carried",
                "engine",
                "through",
                "by ",
            ),
        ),
        Question(
            "why",
            "Why does it matter?",
            "significance",
            (
                "first",
                "because",
                "important",
                "changed",
                "allowed",
                "made it possible",
                "record",
                "largest",
                "inspir",
                "influen",
                "discover",
                "prove",
            ),
        ),
        Question(
            "after",
            "What came after, and where does it stand today?",
            "legacy today",
            (
                "today",
                "still",
                "later",
                "since",
                "now",
                "remain",
                "legacy",
                "future",
                "after",
                "ended",
                "retired",
            ),
        ),
    ],
    "pt": [
        Question(
            "what",
            "O que é {topic}?",
            "visão geral",
            ("e ", "foi ", "era ", "sao ", "eram ", "conhecid", "chamad"),
        ),
        Question("when", "Quando aconteceu, e em que ordem?", "história cronologia"),
        Question("who", "Quem participou?", "personagens"),
        Question(
            "how",
            "Como funcionou ou aconteceu?",
            "como funcionou",
            (
                "como",
                "usando",
                "usad",
                "constru",
                "process",
                "metodo",
                "sistema",
                "atraves",
                "por meio",
                "organiz",
            ),
        ),
        Question(
            "why",
            "Por que isso importa?",
            "importância",
            (
                "primeir",
                "porque",
                "importan",
                "mudou",
                "mudanc",
                "permitiu",
                "recorde",
                "maior",
                "inspir",
                "influen",
                "descobr",
                "consequenc",
            ),
        ),
        Question(
            "after",
            "O que veio depois, e como está hoje?",
            "legado hoje",
            (
                "hoje",
                "ainda",
                "depois",
                "desde",
                "atualmente",
                "permanec",
                "legado",
                "futuro",
                "apos",
                "terminou",
                "fim",
            ),
        ),
    ],
}


def _lang(language: str) -> str:
    """ "pt" for pt-BR or the text search configuration "portuguese", else "en"."""
    return "pt" if language.lower().startswith(("pt", "portuguese")) else "en"


@lru_cache(maxsize=64)
def _topic_stems(topic: str) -> frozenset[str]:
    return content_stems(topic)


_WHEN = re.compile(r"\b(?:1\d{3}|20\d{2})\b|\bcentur|\bseculo|\b(?:" + "|".join(_MONTHS) + r")\b")
_ROLE = re.compile(r"\b(?:" + "|".join(map(re.escape, _ROLES)) + ")")


@lru_cache(maxsize=64)
def _cue_pattern(cues: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(map(re.escape, cues)) + ")")


def answers(question: Question, claim: str, topic: str) -> bool:
    """Whether a fact already about the topic answers this question."""
    folded = fold(claim) + " "
    if question.key == "what":  # a defining sentence: it names the whole topic and says what it is or was
        return _topic_stems(topic) <= content_stems(claim) and bool(
            _cue_pattern(question.cues).search(folded)
        )
    if question.key == "when":
        return bool(_WHEN.search(folded))
    if question.key == "who":  # a name other than the topic's own, not a date; or a role
        own = fold(topic)
        names = [e for e in entities(claim) if not e.isdigit() and fold(e).split()[0] not in _MONTHS]
        return any(fold(e) not in own for e in names) or bool(_ROLE.search(folded))
    return bool(_cue_pattern(question.cues).search(folded))


@dataclass
class Answered:
    key: str
    question: str
    research: str
    fact_ids: list[int]

    @property
    def score(self) -> float:
        return round(min(1.0, len(self.fact_ids) / ANSWERS_NEEDED), 2)

    def as_json(self) -> dict:
        return {"key": self.key, "question": self.question, "score": self.score, "fact_ids": self.fact_ids}


def score_questions(topic: str, language: str, facts: list) -> list[Answered]:
    """Each question of the topic with the stored facts (already about the topic) that answer it."""
    out = []
    for q in QUESTIONS[_lang(language)]:
        ids = [f.id for f in facts if answers(q, f.claim, topic)]
        out.append(Answered(q.key, q.text.format(topic=topic), f"{topic} {q.research}", ids))
    return out
