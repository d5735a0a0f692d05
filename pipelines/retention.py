"""Audience retention mapped onto the script: where in the published video each part of the script is, and
how many viewers were still watching when it started and ended.

The long-form video is the intro clip, the narration, then the outro clip (pipelines.media.render). The intro
lasts a whole number of frames (the render rounds it to FPS), so the narration's time n is the video's time
intro + n; segment k runs from its first word (segment 0 from the narration's start) to the next segment's
first word, as the scenes do (stages.final.scenes_for). A Short is its own window [start, end) of the
long-form's narration (youtube_uploads.details.source), rendered without intro or outro: its time t is the
narration's time start + t, after a hook pre-roll of `details.preroll` seconds when it has one (the hook line
of today's Shorts is drawn over the first seconds, not put before them).

The curve is YouTube's audienceWatchRatio at elapsedVideoTimeRatio 0.01 .. 1.0 (table video_retention),
placed at ratio x the video's duration and read between points by linear interpolation. "Left" is the share
of the starting audience (the curve's first point) lost between a part's start and its end: a negative value
means viewers came back (rewinds, rewatches)."""

from __future__ import annotations

import logging
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pipelines import production
from pipelines.artifacts import AudioOutput, FinalOutput, ScriptOutput, StoredScript, Timings, sentence_times
from pipelines.db import Conn
from pipelines.media.prepare import bookend_seconds

log = logging.getLogger(__name__)
FPS = 30  # the long-form's frame rate (stages.final): the intro clip lasts a whole number of its frames
HELD = 0.03  # a segment that lost at most this share of the starting audience held its viewers

PartKind = Literal["intro", "segment", "outro", "preroll"]


@dataclass(frozen=True)
class Part:
    """A stretch of the published video: the intro clip, a script segment (`index` into the stored script,
    0 = the spoken hook; the review page numbers it index + 1), the outro, or a Short's hook pre-roll; its
    start and end in the video (seconds), the share watching at both ends and the share of the starting
    audience who left during it."""

    kind: PartKind
    index: int | None
    heading: str
    first_sentence: str
    start: float
    end: float
    watch_start: float | None = None
    watch_end: float | None = None
    left: float | None = None

    @property
    def label(self) -> str:
        """What a chart or a sentence calls it: "intro clip", "segment 3, 'The crew'", "outro"."""
        if self.kind != "segment":
            return {"intro": "intro clip", "outro": "outro", "preroll": "hook pre-roll"}[self.kind]
        return f"segment {(self.index or 0) + 1}, {_quote(self.heading)}"


@dataclass(frozen=True)
class SentencePart:
    """One narrated sentence in the published video: its segment and index there, its text, start and end
    (seconds into the video: from its first word, or its segment's start for the first sentence, to the next
    sentence's start or its segment's end) and the watch shares as for a Part."""

    segment: int
    index: int
    text: str
    start: float
    end: float
    watch_start: float | None = None
    watch_end: float | None = None
    left: float | None = None


@dataclass(frozen=True)
class Layout:
    """Where the parts of the script are in one published video (no curve needed)."""

    video_id: str
    production_id: int
    kind: Literal["longform", "short"]
    duration: float
    parts: list[Part]
    sentences: list[SentencePart]

    def boundaries(self) -> list[tuple[float, str]]:
        """(seconds, label) where each part starts, in order: for drawing them on a chart."""
        return [(p.start, p.label) for p in self.parts]


@dataclass(frozen=True)
class RetentionMap(Layout):
    """A Layout with the retention curve placed on it: `curve` is (seconds, watch ratio) points."""

    curve: list[tuple[float, float]] = field(default_factory=list)

    def watch_at(self, seconds: float) -> float:
        """The share of views still watching at `seconds` into the video (linear between points)."""
        return _interpolate(self.curve, seconds)

    @property
    def segments(self) -> list[Part]:
        """The script's segments (without intro clip, outro or pre-roll)."""
        return [p for p in self.parts if p.kind == "segment"]

    def summary(self) -> list[str]:
        """Sentences for the production page: where viewers left and which segments held them."""
        out: list[str] = []
        segs = [p for p in self.segments if p.left is not None]
        intro = next((p for p in self.parts if p.kind in ("intro", "preroll")), None)
        if intro is not None and intro.left is not None and intro.left > 0:
            out.append(
                f"{_pct(intro.left)} of viewers left during the {intro.label} (the first {intro.end:g} s)."
            )
        if segs:
            worst = max(segs, key=lambda p: p.left or 0.0)
            if (worst.left or 0) > 0:
                out.append(f"{_pct(worst.left)} of viewers left during {worst.label}.")
            held = [p for p in segs if (p.left or 0) <= HELD]
            if held:
                names = ", ".join(p.label for p in held)
                most = max(p.left or 0.0 for p in held)
                verb = "held their viewers" if len(held) > 1 else "held its viewers"
                out.append(f"{names[:1].upper()}{names[1:]} {verb} (at most {_pct(max(most, 0))} left).")
            else:
                best = min(segs, key=lambda p: (p.left or 0.0) / max(p.end - p.start, 0.1))
                out.append(
                    f"No segment held its viewers; {best.label} lost them slowest "
                    f"({_pct(best.left)} over {best.end - best.start:.0f} s)."
                )
        sents = [s for s in self.sentences if s.left is not None and s.left > 0]
        if sents:
            s = max(sents, key=lambda s: s.left or 0.0)
            out.append(
                f"The sentence that lost most viewers ({_pct(s.left)}) is in segment {s.segment + 1}: "
                f"{_quote(s.text, 60)}."
            )
        if self.curve:
            out.append(
                f"{_pct(self.curve[-1][1] / _base(self.curve))} of the starting viewers watched to the end."
            )
        return out


def _pct(share: float | None) -> str:
    return f"{round((share or 0.0) * 100)} %"


def _quote(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"
    return f"'{text}'"


def _interpolate(curve: list[tuple[float, float]], t: float) -> float:
    if not curve:
        raise ValueError("no retention curve")
    xs = [x for x, _ in curve]
    k = bisect_right(xs, t)
    if k == 0:
        return curve[0][1]
    if k == len(curve):
        return curve[-1][1]
    (x0, y0), (x1, y1) = curve[k - 1], curve[k]
    return y0 if x1 == x0 else y0 + (y1 - y0) * (t - x0) / (x1 - x0)


def _base(curve: list[tuple[float, float]]) -> float:
    return curve[0][1] or 1.0


# --- where the script is in a video ---------------------------------------------------------------------


def _upload(conn: Conn, production_id: int, video_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT kind, details FROM youtube_uploads WHERE production_id = %s AND video_id = %s",
        (production_id, video_id),
    ).fetchone()
    if row is None:
        raise LookupError(
            f"video {video_id} is not an upload of production {production_id} (youtube_uploads)"
        )
    return dict(row)


def _intro_seconds(p: production.Production, recorded: float | None) -> float:
    """The intro clip's length in the video: as the render recorded it, else (renders before that) the
    channel's intro file now; a whole number of frames either way."""
    if recorded is None:
        try:
            recorded = bookend_seconds(p.cfg.style.intro_path)
        except FileNotFoundError:
            log.warning("production %s: its intro file is gone; mapping retention as if it had none", p.id)
            recorded = 0.0
    return round(recorded * FPS) / FPS


def _segment_spans(script: StoredScript, timings: Timings) -> list[tuple[int, float, float]]:
    """(segment index, start, end) on the narration's timeline, contiguous from 0 to its end."""
    spans = timings.segments
    return [
        (
            s.segment,
            0.0 if k == 0 else s.start,
            spans[k + 1].start if k + 1 < len(spans) else timings.duration,
        )
        for k, s in enumerate(spans)
    ]


def segment_boundaries(conn: Conn, production_id: int, video_id: str) -> list[tuple[float, str]]:
    """(seconds into the video, label) where each part of the video starts: the intro clip, each script
    segment ("segment 3, 'The crew'"), the outro. Needs no retention curve."""
    return layout(conn, production_id, video_id).boundaries()


def layout(conn: Conn, production_id: int, video_id: str) -> Layout:
    """Where the intro clip, each script segment and sentence, and the outro are in the published video
    `video_id` of the production (its long-form or one of its Shorts); LookupError if it is neither."""
    upload = _upload(conn, production_id, video_id)
    p = production.load(conn, production_id)
    script = ScriptOutput.approved(conn, production_id).load_script(p)
    timings = AudioOutput.approved(conn, production_id).load_timings(p)
    spans = _segment_spans(script, timings)
    timed = sentence_times(script, timings)
    if upload["kind"] == "longform":
        final = FinalOutput.approved(conn, production_id)
        shift = _intro_seconds(p, final.load_render(p).intro_seconds)
        lo, hi, duration, parts = 0.0, timings.duration, final.duration, []
        if shift > 0:
            parts.append(Part("intro", None, "", "", 0.0, shift))
    else:
        details = upload["details"] or {}
        lo, hi = float(details["source"]["start"]), float(details["source"]["end"])
        preroll = float(details.get("preroll") or 0.0)
        duration = float(details.get("duration") or hi - lo) + preroll
        shift, parts = preroll - lo, []
        if preroll > 0:
            parts.append(Part("preroll", None, "", "", 0.0, preroll))
    sentences = _sentence_parts(timed, spans, lo, hi, shift, short=upload["kind"] == "short")
    for index, start, end in spans:
        if upload["kind"] == "short":  # the segments of the sentences it shows, over its whole window
            mine = [s for s in sentences if s.segment == index]
            if not mine:
                continue
            start = lo if mine[0] is sentences[0] else mine[0].start - shift
            end = hi if mine[-1] is sentences[-1] else mine[-1].end - shift
        seg = script.segments[index]
        first = seg.sentences[0].text if seg.sentences else ""
        parts.append(
            Part("segment", index, seg.heading, first, round(start + shift, 3), round(end + shift, 3))
        )
    narration_end = round(hi + shift, 3)
    if upload["kind"] == "longform" and duration - narration_end > 1 / FPS:
        parts.append(Part("outro", None, "", "", narration_end, round(duration, 3)))
    return Layout(video_id, production_id, upload["kind"], round(duration, 3), parts, sentences)


def _sentence_parts(
    timed: list, spans: list[tuple[int, float, float]], lo: float, hi: float, shift: float, short: bool
) -> list[SentencePart]:
    """Each sentence from its first word (its segment's start, for a segment's first) to the next one's
    first word (its segment's end, for the last), shifted onto the video. A Short holds the sentences
    spoken inside its window, the first from the window's start and the last to its end."""
    bounds = {i: (s, e) for i, s, e in spans}
    out: list[SentencePart] = []
    for k, s in enumerate(timed):
        seg_start, seg_end = bounds[s.segment]
        start = seg_start if k == 0 or timed[k - 1].segment != s.segment else s.start
        nxt = timed[k + 1] if k + 1 < len(timed) else None
        end = nxt.start if nxt is not None and nxt.segment == s.segment else seg_end
        if short:
            if s.start < lo - 0.01 or s.end > hi + 0.01:
                continue
            start, end = max(start, lo), min(end, hi)
        out.append(SentencePart(s.segment, s.index, s.text, round(start + shift, 3), round(end + shift, 3)))
    if short and out:  # the window's lead-in and tail belong to its first and last sentence
        out[0] = replace(out[0], start=round(lo + shift, 3))
        out[-1] = replace(out[-1], end=round(hi + shift, 3))
    return out


def curve_of(conn: Conn, video_id: str, duration: float) -> list[tuple[float, float]]:
    """The video's retention curve as (seconds, watch ratio) points, in order; [] when it has none yet."""
    rows = conn.execute(
        "SELECT elapsed_ratio, audience_watch_ratio FROM video_retention WHERE video_id = %s ORDER BY elapsed_ratio",
        (video_id,),
    ).fetchall()
    return [(round(r["elapsed_ratio"] * duration, 3), float(r["audience_watch_ratio"])) for r in rows]


def segment_retention(conn: Conn, production_id: int, video_id: str) -> RetentionMap | None:
    """The video's retention curve placed on its parts and sentences (see the module's docstring); None when
    YouTube has given no curve for it yet. LookupError when the video is not one of the production's."""
    where = layout(conn, production_id, video_id)
    curve = curve_of(conn, video_id, where.duration)
    if not curve:
        return None
    base = _base(curve)

    def watched(start: float, end: float) -> dict[str, float]:
        a, b = _interpolate(curve, start), _interpolate(curve, end)
        return {"watch_start": round(a, 4), "watch_end": round(b, 4), "left": round((a - b) / base, 4)}

    return RetentionMap(
        video_id=where.video_id,
        production_id=where.production_id,
        kind=where.kind,
        duration=where.duration,
        parts=[Part(**{**vars(p), **watched(p.start, p.end)}) for p in where.parts],
        sentences=[SentencePart(**{**vars(s), **watched(s.start, s.end)}) for s in where.sentences],
        curve=curve,
    )
