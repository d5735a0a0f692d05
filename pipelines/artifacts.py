"""What one stage hands the next, as small typed records: the stored script (script.json), the word timings
(timings.json), the visuals manifest (visuals.json, visuals.chosen.json), the render record (render.json)
and each reviewed stage's checkpoint artifacts (the `checkpoints.artifacts` column).

Field names are the JSON keys, so files and rows written before these records load unchanged. Unknown
keys are kept (extra="allow"): a key added later goes through an older reader's load and save intact. A
record dumps the keys it was given (read from JSON, passed when built or assigned since), so what is
written has exactly the shape of what was read or built: optional keys that were never set stay absent,
explicit nulls stay null."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from pipelines import checkpoints
from pipelines.checkpoints import Checkpoint
from pipelines.db import Conn
from pipelines.files import read_json, write_json
from pipelines.production import Production


class Record(BaseModel):
    """The base of every record here: unknown keys are kept, and a dump holds the keys it was given (see
    the module's note)."""

    model_config = ConfigDict(
        extra="allow",
        validate_assignment=True,
        validate_by_name=True,
        validate_by_alias=True,
        ser_json_inf_nan="constants",  # as json.dumps writes them (a silent narration's -inf dBTP)
    )

    def dump(self) -> dict[str, Any]:
        """The record as JSON: the keys it was given, by their JSON names."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class JsonFile(Record):
    """A record stored as a JSON file of a production's workspace."""

    @classmethod
    def load(cls, path: Path) -> Self:
        """The record stored at `path`; pydantic's ValidationError when the file does not have its shape."""
        return cls.model_validate(read_json(path))

    def save(self, path: Path) -> Path:
        """Write atomically (a crash never leaves half a file); returns the path."""
        return write_json(path, self.dump())


# --- script.json ---------------------------------------------------------------------------------------


class Sentence(Record):
    """One narrated sentence and the facts it states; an edited one keeps the writer's text as `original`."""

    text: str
    fact_ids: list[int] = []  # the facts it states; [] for a sentence that states none
    edited: bool = False  # the reviewer's text ("approve with edits")
    original: str | None = None  # the writer's text, once edited


Role = Literal["intro", "body", "closing"]


class Segment(Record):
    """A part of the script under one heading: its sentences, and what is shown while they are narrated.
    `role` says which part of the video it is (see segment_roles); scripts stored before it have none."""

    heading: str
    sentences: list[Sentence]
    visual_cue: str = ""
    on_screen_text: str = ""
    role: Role | None = None

    @property
    def text(self) -> str:
        """What is narrated: the sentences, joined."""
        return " ".join(s.text for s in self.sentences)

    def cited_ids(self) -> list[int]:
        """The ids of the facts its sentences cite, each once, in order."""
        return sorted({i for s in self.sentences for i in s.fact_ids})


def segment_roles(segments: list[Segment]) -> list[Role]:
    """What each stored segment is, by its place and what it states: the first is the spoken intro (the
    writer's hook); the segments at the end that state no fact are the closing (the offline writer's
    "Sources and closing", a model's sign-off), though at least one segment after the intro stays a body
    segment; the rest are the body."""
    roles: list[Role] = ["intro" if i == 0 else "body" for i in range(len(segments))]
    end = len(segments)
    while end > 2 and not segments[end - 1].cited_ids():
        end -= 1
        roles[end] = "closing"
    return roles


class ScriptChapter(Record):
    """A chapter the writer proposes: its title and the stored segment it starts at."""

    segment: int  # index into the stored segments (the spoken hook is 0)
    title: str


class Source(Record):
    """A source of the script's cited facts: its title, its page (`url`) and, for one of the channel's
    documents, its path."""

    title: str
    url: str | None = None
    path: str | None = None


class GroundingFlag(Record):
    """A sentence the grounding check doubts (pipelines.grounding); indexes count the written segments,
    without the spoken hook, whose flags have segment and sentence None."""

    segment: int | None
    sentence: int | None
    text: str
    problem: str


class StoredScript(JsonFile):
    """script.json: the writer's script as narrated, the spoken hook being segment 0."""

    title: str = ""
    hook: str = ""
    segments: list[Segment]
    description: str = ""
    tags: list[str] = []
    chapters: list[ScriptChapter] = []
    sources: list[Source] = []
    topic: str = ""
    language: str = ""
    writer: str = ""
    disclosure: str = ""
    review_notes: str | None = None
    revision: int = 1
    notes_understood: list[str] = []
    grounding_flags: list[GroundingFlag] = []
    usage: dict[str, Any] | None = None  # the LLM's tokens and cost (as the writer reports them)
    learnings_applied: list[dict[str, Any]] = []  # audience learnings the script follows: id, lesson, how

    def cited_ids(self) -> list[int]:
        """Every fact id the script cites, each once, in order."""
        return sorted({i for seg in self.segments for i in seg.cited_ids()})

    def roles(self) -> list[Role]:
        """Each segment's role: as marked when the script was stored, else (older scripts) by segment_roles."""
        if any(seg.role for seg in self.segments):
            return [seg.role or "body" for seg in self.segments]
        return segment_roles(self.segments)


# --- timings.json --------------------------------------------------------------------------------------


class Word(Record):
    """One narrated word: when it is spoken (seconds into the narration) and the segment it belongs to."""

    text: str
    start: float
    end: float
    segment: int


class Span(Record):
    """Where a script segment sits in the narration."""

    segment: int
    start: float
    end: float
    file: str | None = None  # the segment's own voiced WAV


class Loudness(Record):
    """The narration's loudness after normalising (EBU R128): integrated LUFS, true peak in dBTP."""

    integrated_lufs: float
    true_peak_dbtp: float


class Timings(JsonFile):
    """timings.json: the narration's word timings and segment spans (seconds)."""

    voice: str = ""
    duration: float
    loudness: Loudness | None = None
    words: list[Word] = []
    segments: list[Span]
    word_timings: str | None = None  # who timed the words when the voice gave none (audio QA)

    def words_in(self, segment: int) -> list[Word]:
        """The words of one segment, in spoken order."""
        return [w for w in self.words if w.segment == segment]


# --- visuals.json --------------------------------------------------------------------------------------


class VisualItem(Record):
    """One visual for a segment: a stock or library photo or clip, or a generated card or background."""

    segment: int
    kind: str = "image"  # image | video
    path: str
    source: str
    licence: str
    attribution: str = ""
    url: str | None = None  # the page to credit
    description: str = ""
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    id: str = ""


class VisualsManifest(JsonFile):
    """visuals.json: the visual chosen for each segment and its options; visuals.chosen.json also records
    the reviewer's choices."""

    provider: str = ""
    visuals: list[VisualItem]
    options: list[list[VisualItem]] = []
    choices: dict[str, int] | None = None

    def choose(self, choices: dict[int, int]) -> None:
        """Segment -> option index: those options become the segments' visuals."""
        for seg, k in choices.items():
            self.visuals[seg] = self.options[seg][k]
        self.choices = {str(s): k for s, k in choices.items()}


# --- render.json ---------------------------------------------------------------------------------------


class RenderChapter(Record):
    """A chapter of the rendered video: its start (seconds into the video, intro included) and title."""

    start: float
    title: str


class Render(JsonFile):
    """render.json: what the final render made besides the video."""

    duration: float
    chapters: list[RenderChapter] = []
    thumbnails: list[str] = []
    thumbnail: int = 0  # the proposed one
    intro_seconds: float | None = None  # the intro clip before the narration (None: rendered before v11)
    render_seconds: float | None = None  # wall-clock seconds the video's render took (None: not measured)


# --- checkpoint artifacts ------------------------------------------------------------------------------


class StageOutput(Record):
    """A reviewed stage's checkpoint artifacts (paths relative to the workspace). The runner adds the
    notes a revision answers; "approve with edits" keeps what the stage made under `_original`."""

    stage: ClassVar[str] = ""
    addresses_notes: str | None = None
    notes_understood: list[str] | None = None
    original: dict[str, Any] | None = Field(None, alias="_original")

    @classmethod
    def of(cls, cp: Checkpoint) -> Self:
        """The checkpoint's artifacts as this stage's record; ValidationError when they lack its shape."""
        return cls.model_validate(cp.artifacts)

    @classmethod
    def approved(cls, conn: Conn, production_id: int) -> Self:
        """The artifacts of the stage's approved revision: what later stages build on."""
        return cls.of(checkpoints.approved(conn, production_id, cls.stage))

    @classmethod
    def for_edits(cls, cp: Checkpoint) -> Self:
        """The checkpoint's artifacts, to edit: the stage's own are kept (reopen restores them)."""
        out = cls.of(cp)
        out.original = cp.artifacts
        return out


class ScriptOutput(StageOutput):
    """The script stage's checkpoint artifacts: script.json, who wrote it and the fact ids it cites."""

    stage = "script"
    script: str  # script.json
    writer: str = ""
    fact_ids: list[int] = []
    grounding_flags: int = 0  # how many sentences the grounding check flagged
    usage: dict[str, Any] | None = None

    def load_script(self, p: Production) -> StoredScript:
        """The stored script (script.json) these artifacts name."""
        return StoredScript.load(p.abs(self.script))


class QASegment(Record):
    """One segment's audio QA: its WER, a short diff of what Whisper heard against the script, and whether
    it is over the limit."""

    segment: int
    wer: float
    diff: str
    flagged: bool
    expected: str
    heard: str


class QAReport(Record):
    """Audio QA of a narration (pipelines.audio_qa): off, skipped (with the reason) or checked."""

    status: str
    reason: str | None = None
    model: str | None = None
    max_wer: float | None = None
    seconds: float | None = None
    segments: list[QASegment] | None = None

    @property
    def flagged(self) -> list[QASegment]:
        """The segments over the WER limit; none when QA was off or skipped."""
        return [s for s in self.segments or [] if s.flagged]


class AudioOutput(StageOutput):
    """The audio stage's checkpoint artifacts: the narration, its music mix, the word timings and audio QA."""

    stage = "audio"
    narration: str  # narration.wav: voice only
    duration: float
    voice: str
    rate_wpm: int | None = None
    mix: str | None = None  # mix.wav: the voice over the channel's music bed
    timings: str  # timings.json
    qa: QAReport | None = None

    @property
    def soundtrack(self) -> str:
        """What the videos play: the music mix if there is one, else the narration."""
        return self.mix or self.narration

    def load_timings(self, p: Production) -> Timings:
        """The word timings (timings.json) these artifacts name."""
        return Timings.load(p.abs(self.timings))


class BrollOutput(StageOutput):
    """The b-roll stage's checkpoint artifacts: the visuals manifest."""

    stage = "broll"
    visuals: str  # visuals.json, or visuals.chosen.json after the reviewer's swaps

    def load_visuals(self, p: Production) -> VisualsManifest:
        """The visuals manifest these artifacts name (visuals.chosen.json once options are swapped)."""
        return VisualsManifest.load(p.abs(self.visuals))


class FinalEdits(Record):
    """What the final reviewer changed ("approve with edits"); what is not set stays as proposed."""

    title: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    thumbnail: int | None = None


class Listing(Record):
    """What the long-form video is published with: proposed by nicheflow, edited at the final checkpoint."""

    title: str
    description: str
    tags: list[str]
    thumbnail: int = 0

    def edited(self, edits: FinalEdits | None) -> Listing:
        """This listing with the reviewer's edits."""
        changed = edits.model_dump(mode="json", exclude_unset=True, exclude_none=True) if edits else {}
        return self.model_copy(update=changed)


class FinalOutput(StageOutput):
    """The final stage's checkpoint artifacts: the video, captions, render record and thumbnails, and the
    reviewer's edits to the listing (`overrides`)."""

    stage = "final"
    video: str
    captions: str  # captions.srt
    render: str  # render.json
    thumbnails: list[str]
    duration: float
    overrides: FinalEdits | None = None

    def load_render(self, p: Production) -> Render:
        """The render record (render.json) these artifacts name."""
        return Render.load(p.abs(self.render))


# --- when each sentence of a script is spoken (the Shorts' cut, retention on the script) ------------------


@dataclass(frozen=True)
class TimedSentence:
    """A narrated sentence of the script and when it is spoken (seconds into the narration)."""

    segment: int
    index: int  # within its segment
    text: str
    start: float
    end: float
    cites: bool  # it states a fact (cites one)
    last_of_segment: bool


def sentence_times(script: StoredScript, timings: Timings) -> list[TimedSentence]:
    """Every narrated sentence with its time. The word timings are the segment's written words in order
    (a word can carry an unspoken token with it), so a sentence runs from the word holding its first token
    to the word holding its last; a segment whose words do not add up to its text (older timings) has its
    span shared out by word count."""
    out: list[TimedSentence] = []
    for span in timings.segments:
        seg = script.segments[span.segment]
        counts = [len(s.text.split()) for s in seg.sentences]
        words = timings.words_in(span.segment)
        ends = list(accumulate(len(w.text.split()) for w in words))
        total = sum(counts)
        first, prev_end = 0, span.start
        for j, (s, n) in enumerate(zip(seg.sentences, counts, strict=True)):
            if n == 0:
                continue
            if words and ends[-1] == total:
                start = max(words[bisect_right(ends, first)].start, prev_end)
                end = max(words[bisect_right(ends, first + n - 1)].end, start)
            else:
                length = span.end - span.start
                start = span.start + length * first / total
                end = span.start + length * (first + n) / total
            first, prev_end = first + n, end
            out.append(
                TimedSentence(
                    segment=span.segment,
                    index=j,
                    text=s.text,
                    start=round(start, 3),
                    end=round(end, 3),
                    cites=bool(s.fact_ids),
                    last_of_segment=j == len(seg.sentences) - 1,
                )
            )
    return out
