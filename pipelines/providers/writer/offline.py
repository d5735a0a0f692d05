"""Offline script writer (the LLM slot's default): no language model, no invention.

It arranges the channel's stored facts into segments, quoting each fact sentence as it is stored and
citing its fact id, between a templated opening and closing that make no factual claim. It produces the
same structured `Script` as the Groq writer, and says what it is in the script and the description."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from knowledge.store import AudienceLearning, Fact
from knowledge.text import content_stems, entities
from pipelines import notes as review_notes
from pipelines.metadata import fit_title
from pipelines.providers.writer.base import Brief, Chapter, Script, Segment, Sentence, WriterResult

NAME = "offline template writer"
DISCLOSURE = {
    "en": "Script arranged by nicheflow's offline template writer from stored facts (no language model).",
    "pt-BR": "Roteiro montado pelo redator offline do nicheflow a partir de fatos armazenados (sem modelo de linguagem).",
}


class _Template(TypedDict):
    hook: str  # the opening line; {topic} is filled in
    hooks: dict[str, str]  # the opening in a learned style ({topic}, {n}: the facts told, {name})
    counts: list[str]  # numbers spelled out (the hook cannot cite, so it carries no digits)
    outro: list[str]  # the closing sentences
    outro_heading: str


_TEMPLATES: dict[str, _Template] = {
    "en": {
        "hook": "{topic}. Here is what the sources say, fact by fact.",
        "hooks": {
            "question": "What do the sources really say about {topic}?",
            "number": "{topic}, in {n} facts from the sources.",
            "superlative": "The most striking facts about {topic}, from the sources.",
            "name": "{name}: here is what the sources say about {topic}.",
            "statement": "{topic}. Here is what the sources say, fact by fact.",
        },
        "counts": "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split(),
        "outro": ["Those were the facts about {topic}.", "The sources are listed in the description."],
        "outro_heading": "Sources and closing",
    },
    "pt-BR": {
        "hook": "{topic}. Veja o que dizem as fontes, fato por fato.",
        "hooks": {
            "question": "O que as fontes dizem de fato sobre {topic}?",
            "number": "{topic}, em {n} fatos das fontes.",
            "superlative": "Os fatos mais marcantes sobre {topic}, direto das fontes.",
            "name": "{name}: veja o que as fontes dizem sobre {topic}.",
            "statement": "{topic}. Veja o que dizem as fontes, fato por fato.",
        },
        "counts": "zero um dois três quatro cinco seis sete oito nove dez onze doze treze catorze quinze dezesseis "
        "dezessete dezoito dezenove vinte".split(),
        "outro": ["Esses foram os fatos sobre {topic}.", "As fontes estão na descrição."],
        "outro_heading": "Fontes e encerramento",
    },
}


def follow_notes(pool: list[Fact], lead: str | None, drop: tuple[str, ...] = ()) -> list[Fact]:
    """A reviewer's notes as far as a template writer can follow them (see pipelines.notes): facts that
    mention everything in a "drop ..." phrase are left out, and the fact that best matches a "start with
    ..." phrase opens the script."""
    for phrase in drop:
        words = content_stems(phrase)
        pool = [f for f in pool if not words or not words <= content_stems(f.claim)]
    words = content_stems(lead or "")
    best = max(pool, key=lambda f: len(words & content_stems(f.claim)), default=None)
    if best is not None and words & content_stems(best.claim):
        pool = [best, *(f for f in pool if f is not best)]
    return pool


def select_facts(pool: list[Fact], target_words: int) -> list[Fact]:
    """Facts in the pool's order (main source first, each source in its own sentence order) until the word
    budget is used: a coherent story rather than a bag of matching sentences."""
    chosen: list[Fact] = []
    words = 0
    for f in pool:
        n = len(f.claim.split())
        if words + n > target_words and chosen:
            break
        chosen.append(f)
        words += n
    return chosen


_LEAD = {"the", "a", "an", "of", "o", "os", "as", "do", "da", "dos", "das", "de", "e", "and"}
_AUX = {"was", "is", "were", "are", "has", "had", "have", "foi", "é", "era", "foram", "são", "tinha"}


def _heading(text: str, topic: str) -> str:
    """A chapter-style heading from a fact: what the sentence adds to the topic ("Launched on April 24,
    1990" rather than "The Hubble Space Telescope was launched…"): the topic's words and a leading
    auxiliary are dropped, then up to six words before the first comma."""

    def key(w: str) -> str:
        return w.strip(".,;:()\"'").casefold()

    topic_words = {key(w) for w in topic.split()}
    words = text.split(",")[0].rstrip(".").split()
    i = 0
    while i < len(words) and (key(words[i]) in topic_words or key(words[i]) in _LEAD):
        i += 1
    if i < len(words) and key(words[i]) in _AUX:
        i += 1
    rest = words[i:] if len(words) - i >= 2 else words
    heading = " ".join(rest[:6]) + ("…" if len(rest) > 6 else "")
    return heading[:1].upper() + heading[1:]


@dataclass(frozen=True)
class Style:
    """What the offline writer takes from the audience learnings: the hook's opening style and the facts
    per segment, and for each the learning (id) it follows."""

    opening: str = "statement"
    per_segment: int = 2
    follows: dict[int, str] = field(default_factory=dict)  # learning id -> how it is applied


def style_from(learnings: Sequence[AudienceLearning]) -> Style:
    """The rules the offline writer can apply: 'opening:<style>' (its hook's opening) and
    'segment:max_seconds' / 'segment:min_seconds' (one fact per segment, or three, instead of two)."""
    opening, per_segment, follows = "statement", 2, {}
    for lesson in learnings:
        rule = lesson.rule.split(":")
        if rule[0] == "opening" and len(rule) == 2 and rule[1] in OPENINGS and opening == "statement":
            opening = rule[1]
            follows[lesson.id] = f"the hook opens with {OPENINGS[rule[1]]}"
        elif lesson.rule in ("segment:max_seconds", "segment:min_seconds") and per_segment == 2:
            per_segment = 1 if lesson.rule == "segment:max_seconds" else 3
            follows[lesson.id] = (
                f"{per_segment} fact{'s' if per_segment > 1 else ''} per segment instead of 2"
            )
    return Style(opening, per_segment, follows)


OPENINGS = {"question": "a question", "number": "a number", "superlative": "a superlative", "name": "a name"}


def _hook(t: _Template, topic: str, style: str, chosen: list[Fact]) -> str | None:
    """The hook in `style`; None when the facts give it nothing to say (no name besides the topic's)."""
    if style == "name":
        topic_words = {w.casefold() for w in topic.split()}
        names = Counter(
            e
            for f in chosen
            for e in entities(f.claim)
            if not e.isdigit() and not {w.casefold() for w in e.split()} <= topic_words
        )
        if not names:
            return None
        return t["hooks"]["name"].format(topic=topic, name=names.most_common(1)[0][0])
    n = t["counts"][len(chosen)] if len(chosen) < len(t["counts"]) else None
    if style == "number" and n is None:
        return None
    return t["hooks"][style].format(topic=topic, n=n)


def write(
    topic: str, language: str, pool: list[Fact], target_words: int, style: Style | None = None
) -> Script:
    """`pool`: candidate facts in story order (see select_facts); `style` what the audience learnings ask."""
    t = _TEMPLATES[language]
    style = style or Style()
    chosen = select_facts(pool, max(30, target_words - 25))  # the templates take ~25 words
    segments = []
    for i in range(0, len(chosen), style.per_segment):
        group = chosen[i : i + style.per_segment]
        heading = _heading(group[0].claim, topic)
        segments.append(
            Segment(
                heading=heading,
                visual_cue=heading,
                on_screen_text="",
                sentences=[Sentence(text=f.claim, fact_ids=[f.id]) for f in group],
            )
        )
    segments.append(
        Segment(
            heading=t["outro_heading"],
            visual_cue=topic,
            sentences=[Sentence(text=s.format(topic=topic)) for s in t["outro"]],
        )
    )
    return Script(
        title=fit_title(topic, default=topic),
        hook=_hook(t, topic, style.opening, chosen) or t["hook"].format(topic=topic),
        segments=segments,
        description="",
        tags=[],
        chapters=[Chapter(segment=i, title=s.heading) for i, s in enumerate(segments)],
    )


class OfflineWriter:
    """The writer slot's offline default (see the module's docstring)."""

    name = NAME

    def write(self, brief: Brief) -> WriterResult:
        """Arrange the brief's facts, following what it can of the notes (see follow_notes) and of the
        audience learnings (see style_from)."""
        adjust = review_notes.read(brief.notes)
        pool = follow_notes(brief.facts, adjust.lead, adjust.drop)
        style = style_from(brief.audience_learnings)
        script = write(brief.topic, brief.language, pool, brief.target_words, style)
        applied = dict(style.follows)
        if style.opening != "statement" and script.hook == _TEMPLATES[brief.language]["hook"].format(
            topic=brief.topic
        ):
            applied = {
                k: v for k, v in applied.items() if not v.startswith("the hook")
            }  # nothing to say it with
        return WriterResult(
            script=script, writer=NAME, disclosure=DISCLOSURE[brief.language], applied=applied
        )

    def close(self) -> None:
        """Nothing to release."""
        pass
