"""Offline script writer (the LLM slot's default): no language model, no invention.

It arranges the channel's stored facts into segments, quoting each fact sentence as it is stored and
citing its fact id, between a templated opening and closing that make no factual claim. It produces the
same structured `Script` as the Groq writer, and says what it is in the script and the description."""

from __future__ import annotations

from typing import TypedDict

from knowledge.store import Fact
from knowledge.text import content_stems
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
    outro: list[str]  # the closing sentences
    outro_heading: str


_TEMPLATES: dict[str, _Template] = {
    "en": {
        "hook": "{topic}. Here is what the sources say, fact by fact.",
        "outro": ["Those were the facts about {topic}.", "The sources are listed in the description."],
        "outro_heading": "Sources and closing",
    },
    "pt-BR": {
        "hook": "{topic}. Veja o que dizem as fontes, fato por fato.",
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


def write(topic: str, language: str, pool: list[Fact], target_words: int) -> Script:
    """`pool`: candidate facts in story order (see select_facts)."""
    t = _TEMPLATES[language]
    chosen = select_facts(pool, max(30, target_words - 25))  # the templates take ~25 words
    segments = []
    for i in range(0, len(chosen), 2):
        pair = chosen[i : i + 2]
        heading = _heading(pair[0].claim, topic)
        segments.append(
            Segment(
                heading=heading,
                visual_cue=heading,
                on_screen_text="",
                sentences=[Sentence(text=f.claim, fact_ids=[f.id]) for f in pair],
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
        hook=t["hook"].format(topic=topic),
        segments=segments,
        description="",
        tags=[],
        chapters=[Chapter(segment=i, title=s.heading) for i, s in enumerate(segments)],
    )


class OfflineWriter:
    """The writer slot's offline default (see the module's docstring)."""

    name = NAME

    def write(self, brief: Brief) -> WriterResult:
        """Arrange the brief's facts, following what it can of the notes (see follow_notes)."""
        adjust = review_notes.read(brief.notes)
        pool = follow_notes(brief.facts, adjust.lead, adjust.drop)
        script = write(brief.topic, brief.language, pool, brief.target_words)
        return WriterResult(script=script, writer=NAME, disclosure=DISCLOSURE[brief.language])

    def close(self) -> None:
        """Nothing to release."""
        pass
