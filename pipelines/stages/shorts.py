"""Task `shorts` (the Shorts DAG): cut 9:16 videos of at most 60 s from a published long-form production, using its own script
segments, narration, word timings and visuals (so cuts fall on sentence boundaries and captions are
re-timed exactly), then publish them with their own times. No checkpoint: the long-form was approved."""

from __future__ import annotations

import logging

from pipelines import uploads
from pipelines.artifacts import AudioOutput, ScriptOutput, Span
from pipelines.db import Conn
from pipelines.media.captions import build_cues, write_ass
from pipelines.media.render import Scene, render_video
from pipelines.metadata import fit_description, fit_tags, fit_title
from pipelines.production import Production, production_db
from pipelines.providers.publish.base import PublishItem
from pipelines.stages.final import scenes_for, words_of
from pipelines.stages.publish import publish_item, slot_for
from pipelines.stages.shorts_visuals import portrait_visuals

log = logging.getLogger(__name__)
SIZE = (1080, 1920)


def windows(spans: list[Span], duration: float, max_seconds: float, count: int) -> list[tuple[float, float]]:
    """Up to `count` non-overlapping runs of whole segments, each at most max_seconds long, skipping the
    introduction when there is more to choose from. Greedy, in story order."""
    bounds = [(s.start, spans[i + 1].start if i + 1 < len(spans) else duration) for i, s in enumerate(spans)]
    start_at = 1 if len(bounds) > 2 else 0
    out: list[tuple[float, float]] = []
    i = start_at
    while i < len(bounds) and len(out) < count:
        start, end = bounds[i]
        if end - start > max_seconds:  # one long segment: cut it at max_seconds
            out.append((start, start + max_seconds))
            i += 1
            continue
        j = i
        while j + 1 < len(bounds) and bounds[j + 1][1] - start <= max_seconds:
            j += 1
        out.append((start, bounds[j][1]))
        i = j + 1
    return out


def cut_shorts(conn: Conn, p: Production) -> list[dict]:
    """Render and publish the production's Shorts: 9:16 cuts of whole segments with re-timed captions, each
    at the channel's next free Shorts slot; returns the receipts. A Short already rendered is not redone."""
    cfg = p.cfg
    script = ScriptOutput.approved(conn, p.id).load_script(p)
    audio = AudioOutput.approved(conn, p.id)
    timings = audio.load_timings(p)
    scenes = scenes_for(p, timings, portrait_visuals(conn, p))  # 9:16 visuals (shorts_visuals)
    results = []
    longform = next((u["url"] for u in uploads.of_production(conn, p.id) if u["kind"] == "longform"), None)
    yt = cfg.publish.youtube
    out_dir = p.workspace / "shorts"
    out_dir.mkdir(exist_ok=True)
    for n, (start, end) in enumerate(
        windows(timings.segments, timings.duration, cfg.shorts.max_seconds, cfg.shorts.count), start=1
    ):
        item_name = f"{p.id:05d}-short-{n}"
        video = out_dir / f"short-{n}.mp4"
        cues = build_cues(words_of(timings, start, end), max_chars=20, max_words=4)  # one line at 9:16
        ass = write_ass(cues, out_dir / f"short-{n}.ass", *SIZE, cfg.style)
        inside = [
            Scene(s.media, max(s.start, start), min(s.end, end), s.kind)
            for s in scenes
            if s.end > start and s.start < end
        ]
        if not video.exists():
            render_video(
                inside,
                p.abs(audio.soundtrack),
                video,
                size=SIZE,
                fps=30,
                subtitles=ass,
                audio_start=start,
                duration=end - start,
            )
        first = next(i for i, s in enumerate(timings.segments) if s.start >= start - 0.01)
        title = fit_title(f"{script.title} — {script.segments[first].heading}", default=script.title)
        # once the long-form video has its id, the Short sends viewers to it
        opening = f"{script.title}: {longform}" if longform else script.title
        description = fit_description(opening, keep=f"{script.disclosure}\n#Shorts")
        item = PublishItem(
            name=item_name,
            kind="short",
            channel=p.channel,
            production_id=p.id,
            dag_run_id=p.dag_run_id,
            title=title,
            description=description,
            tags=fit_tags([*cfg.publish.tags, "Shorts"]),
            category_id=cfg.publish.category_id,
            language=cfg.language,
            privacy=cfg.publish.privacy,
            made_for_kids=cfg.publish.made_for_kids,
            notify_subscribers=yt.notify_subscribers if yt else True,
            publish_at=slot_for(conn, p, item_name, cfg.publish.shorts_time),
            video=video,
            playlists=tuple(yt.shorts_playlists) if yt else (),
            extra={
                "duration": round(end - start, 3),
                "source": {"longform_production": p.id, "start": start, "end": end},
            },
        )
        results.append(publish_item(conn, p, item))
        log.info(
            "short %s: %.1f-%.1f s -> %s",
            item_name,
            start,
            end,
            results[-1].get("url") or results[-1].get("folder"),
        )
    return results


def run(production_id: int, channel: str) -> list[dict]:
    """The Shorts of one published production of `channel` (a channel's Shorts DAG touches only its own)."""
    with production_db(production_id) as (conn, p):
        if p.channel != channel:
            raise ValueError(f"production {production_id} belongs to {p.channel}, not {channel}")
        return cut_shorts(conn, p)
