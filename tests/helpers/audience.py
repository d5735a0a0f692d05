"""Published productions and their audience figures, written straight into the workspace and the tables (no
render, no YouTube): an approved script, narration timings and render record, the upload rows of the
long-form and its Shorts, and the Analytics rows part A's pull writes (video_daily, video_retention,
video_traffic)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from psycopg.types.json import Jsonb

from pipelines import checkpoints, production
from pipelines.artifacts import (
    FinalOutput,
    Render,
    Segment,
    Sentence,
    Span,
    StoredScript,
    Timings,
    Word,
    segment_roles,
)
from pipelines.db import Conn

# a segment: its heading and its sentences as (text, first word's start, last word's end, cited fact ids)
Timed = tuple[str, float, float, list[int]]
SegmentSpec = tuple[str, Sequence[Timed]]


def words_of(text: str, start: float, end: float, segment: int) -> list[Word]:
    """The sentence's words, spread evenly over [start, end]."""
    parts = text.split()
    step = (end - start) / len(parts)
    return [
        Word(text=w, start=round(start + k * step, 3), end=round(start + (k + 1) * step, 3), segment=segment)
        for k, w in enumerate(parts)
    ]


def _approve(conn: Conn, p: production.Production, stage: str, artifacts: dict) -> None:
    cp = checkpoints.open_checkpoint(conn, p.id, p.channel, stage, 1, artifacts)
    checkpoints.decide(conn, cp.id, "approved", "tester")


def publish(
    conn: Conn,
    channel: str,
    topic: str,
    segments: Sequence[SegmentSpec],
    *,
    video_id: str,
    narration: float | None = None,
    intro: float | None = 0.0,
    outro: float = 0.0,
    language: str = "en",
) -> int:
    """A published long-form production: segment 0 is the spoken hook; `intro`/`outro` the clips' seconds
    (intro None: a render.json from before the intro was recorded). Returns the production id."""
    p = production.create(conn, channel, topic, f"run-{video_id}")
    stored = [
        Segment(heading=h, sentences=[Sentence(text=t, fact_ids=ids) for t, _, _, ids in sents])
        for h, sents in segments
    ]
    for seg, role in zip(stored, segment_roles(stored), strict=True):
        seg.role = role
    script = StoredScript(
        title=topic,
        hook=" ".join(t for t, *_ in segments[0][1]),
        segments=stored,
        topic=topic,
        language=language,
    )
    words = [w for i, (_, sents) in enumerate(segments) for t, a, b, _ in sents for w in words_of(t, a, b, i)]
    spans = [Span(segment=i, start=sents[0][1], end=sents[-1][2]) for i, (_, sents) in enumerate(segments)]
    duration = narration if narration is not None else spans[-1].end + 0.5
    timings = Timings(voice="test", duration=duration, words=words, segments=spans)
    work = p.stage_dir("final", 1)
    script_path = script.save(p.stage_dir("script", 1) / "script.json")
    timings_path = timings.save(p.stage_dir("audio", 1) / "timings.json")
    video = (intro or 0.0) + duration + outro
    render = Render(duration=video, **({} if intro is None else {"intro_seconds": intro}))
    render_path = render.save(work / "render.json")
    _approve(
        conn, p, "script", {"script": p.rel(script_path), "writer": "test", "fact_ids": script.cited_ids()}
    )
    _approve(
        conn,
        p,
        "audio",
        {
            "narration": "audio/r1/narration.wav",
            "duration": duration,
            "voice": "test",
            "timings": p.rel(timings_path),
        },
    )
    final = FinalOutput(
        video="final/r1/video.mp4",
        captions="final/r1/captions.srt",
        render=p.rel(render_path),
        thumbnails=[],
        duration=video,
    )
    _approve(conn, p, "final", final.dump())
    _upload(conn, p, f"{p.id:05d}-longform", "longform", video_id, {})
    production.set_status(conn, p.id, "published")
    return p.id


def _upload(conn: Conn, p: production.Production, item: str, kind: str, video_id: str, details: dict) -> None:
    conn.execute(
        "INSERT INTO youtube_uploads (item, channel, production_id, kind, project, size_bytes, privacy, video_id,"
        " state, details) VALUES (%s, %s, %s, %s, 'test', 1000, 'public', %s, 'published', %s)",
        (item, p.channel, p.id, kind, video_id, Jsonb(details)),
    )


def add_short(
    conn: Conn, production_id: int, n: int, video_id: str, start: float, end: float, first_sentence: str = ""
) -> None:
    """The production's Short n: the narration's window [start, end), as stages.shorts records it."""
    p = production.load(conn, production_id)
    details = {
        "duration": round(end - start, 3),
        "source": {"longform_production": p.id, "start": start, "end": end},
        "choice": {
            "start": start,
            "end": end,
            "sentences": [{"segment": 1, "sentence": 0, "text": first_sentence}],
        },
    }
    _upload(conn, p, f"{p.id:05d}-short-{n}", "short", video_id, details)


def daily(
    conn: Conn, channel: str, video_id: str, views: int, avp: float, day: dt.date = dt.date(2030, 1, 2)
) -> None:
    """One day of the video's Analytics report (a later call for the same day replaces it)."""
    conn.execute(
        "INSERT INTO video_daily (channel, video_id, day, views, average_view_percentage) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (channel, video_id, day) DO UPDATE SET views = EXCLUDED.views,"
        " average_view_percentage = EXCLUDED.average_view_percentage",
        (channel, video_id, day, views, avp),
    )


def curve(conn: Conn, channel: str, video_id: str, duration: float, watch: Callable[[float], float]) -> None:
    """The video's retention curve: watch(seconds) at elapsed ratios 0.01 .. 1.0 (replacing any before)."""
    conn.execute("DELETE FROM video_retention WHERE video_id = %s", (video_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO video_retention (channel, video_id, elapsed_ratio, audience_watch_ratio) VALUES (%s, %s, %s, %s)",
            [(channel, video_id, k / 100, watch(k / 100 * duration)) for k in range(1, 101)],
        )


def traffic(conn: Conn, channel: str, video_id: str, source: str, views: int) -> None:
    conn.execute(
        "INSERT INTO video_traffic (channel, video_id, source, views) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (channel, video_id, source) DO UPDATE SET views = EXCLUDED.views",
        (channel, video_id, source, views),
    )


def piecewise(*points: tuple[float, float]) -> Callable[[float], float]:
    """A curve through (seconds, watch ratio) points, straight between them."""

    def f(t: float) -> float:
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            if t <= x1:
                return y0 + (y1 - y0) * (max(t, x0) - x0) / (x1 - x0)
        return points[-1][1]

    return f
