"""The writer slot's interface: a `Writer` takes a `Brief` (the topic, the facts it may cite, the target
length, the channel's tone and the reviewer's notes) and returns a `WriterResult` holding the structured
`Script` every writer produces (the LLM writers as JSON, validated here), who wrote it and how the video's
description must say so.

Narration is `hook` followed by every segment's sentences, in order. A sentence lists the ids of the
stored facts that support it; an empty list means it makes no factual claim (an opening, a transition,
a question). Headings, visual cues and on-screen text are not spoken.

Limits follow YouTube's (pipelines.metadata: a title of at most 100 characters; a description is refused
only past 5000 characters, since the publish stage fits it to YouTube's 5000 bytes) or keep the structure
usable (at least two segments, each with at least one sentence). Unknown fields are errors, so a model
that invents a field is told so instead of having it silently dropped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from knowledge.store import AudienceLearning, Fact
from pipelines.metadata import DESCRIPTION_MAX_BYTES, TITLE_MAX

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sentence(_Strict):
    """One spoken sentence and the ids of the given facts that support it."""

    text: NonEmpty = Field(description="one spoken sentence")
    fact_ids: list[int] = Field(
        default_factory=list,
        description="ids of the given facts that support this sentence; "
        "[] only for a sentence that states no fact",
    )


class Segment(_Strict):
    """A part of the script under one heading: its sentences, what to show and any on-screen text."""

    heading: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    sentences: list[Sentence] = Field(min_length=1)
    visual_cue: NonEmpty = Field(description="what to show on screen while this segment is narrated")
    on_screen_text: str = Field(default="", description="short text overlaid on the visual, or empty")


class Chapter(_Strict):
    """A chapter: its title and the segment it starts at (0-based, the hook not counted)."""

    segment: int = Field(ge=0, description="0-based index of the segment where the chapter starts")
    title: NonEmpty


class Script(_Strict):
    """What every writer produces: title, spoken hook, segments, description, tags and chapters (the limits
    are in the module's docstring)."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
    hook: NonEmpty = Field(description="the spoken opening, before the first segment; states no fact")
    segments: list[Segment] = Field(min_length=2)
    description: str = Field(max_length=DESCRIPTION_MAX_BYTES, description="the video's description")
    tags: list[NonEmpty] = Field(max_length=15)
    chapters: list[Chapter] = Field(default_factory=list)

    @model_validator(mode="after")
    def _chapters_point_at_segments(self) -> Script:
        indexes = [c.segment for c in self.chapters]
        if any(i >= len(self.segments) for i in indexes):
            raise ValueError(
                f"chapters: segment index out of range (there are {len(self.segments)} segments, "
                f"numbered from 0)"
            )
        if indexes != sorted(set(indexes)):
            raise ValueError("chapters: segment indexes must be strictly increasing")
        return self


def narration(script: Script) -> list[str]:
    """Every spoken sentence in order: the hook, then each segment's sentences."""
    return [script.hook] + [s.text for seg in script.segments for s in seg.sentences]


def words(script: Script) -> int:
    """Spoken words (hook + sentences; whitespace-separated, so "1969" and "Apollo-11" count as one)."""
    return sum(len(t.split()) for t in narration(script))


def cited_ids(script: Script) -> set[int]:
    """Every fact id cited anywhere in the script."""
    return {i for seg in script.segments for s in seg.sentences for i in s.fact_ids}


@dataclass(frozen=True)
class Brief:
    """What a writer is asked for. `facts` are the only facts it may cite, in story order (the topic's main
    sources first); `notes` are a reviewer's request-changes notes, when this is a new revision;
    `learnings` the lessons of earlier reviews; `audience_learnings` what the channel's audience showed
    (knowledge.audience: a rule and the figures behind it), which the writer follows as far as it can."""

    topic: str
    language: str
    facts: list[Fact]
    target_words: int
    tone: str = ""
    audience: str = ""
    learnings: Sequence[str] = ()
    notes: str | None = None
    questions: Sequence[str] = ()
    audience_learnings: Sequence[AudienceLearning] = ()


@dataclass
class WriterResult:
    """A writer's script, who wrote it (`writer`, shown to the reviewer) and the sentence the video's
    description carries about it (`disclosure`)."""

    script: Script
    writer: str
    disclosure: str
    usage: dict | None = (
        None  # LLM writers: prompt_tokens, completion_tokens, total_tokens, cost_usd, calls, model
    )
    flags: list[dict] = field(
        default_factory=list
    )  # grounding.check() of the final script, when the writer ran it
    applied: dict[int, str] = field(default_factory=dict)  # audience learning id -> how the writer applied it


class Writer(Protocol):
    """A script writer: Groq (writer.groq) or the offline template writer (writer.offline)."""

    name: str

    def write(self, brief: Brief) -> WriterResult:
        """A script for the brief that cites only its facts, and who wrote it. A failure of the writer's
        service is a PermanentError or a TransientError (pipelines.errors)."""
        ...

    def close(self) -> None:
        """Release what the writer holds (an HTTP client); called after `write`, whether or not it worked."""
        ...
