"""Task `final` (checkpoint 4): render the long-form video (one ffmpeg filtergraph), captions, chapters and
thumbnails."""

from __future__ import annotations

import psycopg

from pipelines import checkpoints
from pipelines.checkpoints import Checkpoint, CheckpointError
from pipelines.media.align import WordTiming
from pipelines.media.captions import build_cues, write_ass, write_srt
from pipelines.media.prepare import bookend_seconds
from pipelines.media.render import Scene, render_video
from pipelines.media.thumbnail import make_thumbnails
from pipelines.production import Production, read_json, write_json

SIZE = (1920, 1080)


def scenes_for(p: Production, timings: dict, visuals: dict) -> list[Scene]:
    """Scene i runs from segment i's start to segment i+1's start: visuals change with the narration."""
    spans = timings["segments"]
    media = {v["segment"]: (p.abs(v["path"]), v.get("kind", "image")) for v in visuals["visuals"]}
    scenes = []
    for i, span in enumerate(spans):
        end = spans[i + 1]["start"] if i + 1 < len(spans) else timings["duration"]
        path, kind = media[span["segment"]]
        scenes.append(Scene(path, span["start"], end, kind))
    return scenes


def words_of(
    timings: dict, start: float = 0.0, end: float | None = None, lead: float = 0.0
) -> list[WordTiming]:
    """Word timings inside [start, end), shifted so that `start` is at `lead` (the intro's length)."""
    end = timings["duration"] if end is None else end
    return [
        WordTiming(w["text"], w["start"] - start + lead, min(w["end"], end) - start + lead)
        for w in timings["words"]
        if w["start"] >= start and w["start"] < end
    ]


def chapters(script: dict, timings: dict, min_len: float = 10.0, lead: float = 0.0) -> list[dict]:
    """YouTube-style chapters from segment starts (shifted by the intro's length `lead`), first at 0:00. A
    chapter shorter than min_len is merged into the one before it (YouTube ignores chapter lists with
    chapters under 10 s)."""
    out: list[dict] = []
    for span in timings["segments"]:
        heading = script["segments"][span["segment"]]["heading"]
        if out and span["start"] + lead - out[-1]["start"] < min_len:
            continue
        out.append({"start": 0.0 if not out else span["start"] + lead, "title": heading})
    if len(out) > 1 and timings["duration"] + lead - out[-1]["start"] < min_len:
        out.pop()
    return out


def assemble(p: Production, script_rel: str, audio: dict, broll: dict, revision: int) -> dict:
    out = p.stage_dir("final", revision)
    script = read_json(p.abs(script_rel))
    timings = read_json(p.abs(audio["timings"]))
    visuals = read_json(p.abs(broll["visuals"]))
    style = p.cfg.style
    lead = bookend_seconds(style.intro_path)  # captions and chapters start after the intro
    cues = build_cues(words_of(timings, lead=lead))
    ass = write_ass(cues, out / "captions.ass", *SIZE, style)
    srt = write_srt(cues, out / "captions.srt")
    video = out / "video.mp4"
    info = render_video(
        scenes_for(p, timings, visuals),
        p.abs(audio.get("mix", audio["narration"])),
        video,
        size=SIZE,
        fps=30,
        subtitles=ass,
        intro=style.intro_path,
        outro=style.outro_path,
    )
    thumbs = make_thumbnails(
        script["title"], [p.abs(v["path"]) for v in visuals["visuals"]], out / "thumbnails", style=style
    )
    meta = write_json(
        out / "render.json",
        {
            "duration": info.duration,
            "chapters": chapters(script, timings, lead=lead),
            "thumbnails": [p.rel(t) for t in thumbs],
            "thumbnail": 0,
        },
    )
    return {
        "video": p.rel(video),
        "captions": p.rel(srt),
        "render": p.rel(meta),
        "thumbnails": [p.rel(t) for t in thumbs],
        "duration": info.duration,
    }


def view(conn: psycopg.Connection, p: Production, cp: Checkpoint) -> dict:
    from pipelines.stages.publish import draft, next_slot, publisher_for

    render = read_json(p.abs(cp.artifacts["render"]))
    audio = checkpoints.approved(conn, p.id, "audio").artifacts
    visuals = read_json(p.abs(checkpoints.approved(conn, p.id, "broll").artifacts["visuals"]))["visuals"]
    proposed = {
        **draft(p, _approved_script(conn, p), render, audio["voice"], visuals),
        "thumbnail": render.get("thumbnail", 0),
        **cp.artifacts.get("overrides", {}),
    }
    cfg = p.cfg
    publish_at = next_slot(cfg.timezone, cfg.publish.time, publisher_for(p).taken_slots())
    return {
        "video": cp.artifacts["video"],
        "duration": cp.artifacts["duration"],
        "thumbnails": cp.artifacts["thumbnails"],
        "chapters": render["chapters"],
        "publish_at": publish_at.isoformat(),
        **proposed,
    }


def apply_edits(conn: psycopg.Connection, p: Production, cp: Checkpoint, edits: dict) -> dict:
    """Approve with edits: the reviewer's title, description, tags and thumbnail are what gets published."""
    art = {**cp.artifacts, "_original": cp.artifacts}
    unknown = set(edits) - {"title", "description", "tags", "thumbnail"}
    if unknown:
        raise CheckpointError(
            f"edits: unknown fields {sorted(unknown)}; allowed: title, description, tags, thumbnail"
        )
    if "thumbnail" in edits and edits["thumbnail"] not in range(len(cp.artifacts["thumbnails"])):
        raise CheckpointError(f"edits.thumbnail: choose 0-{len(cp.artifacts['thumbnails']) - 1}")
    if "title" in edits and not 0 < len(str(edits["title"]).strip()) <= 100:
        raise CheckpointError("edits.title: 1-100 characters (YouTube's limit)")
    if "tags" in edits and not (
        isinstance(edits["tags"], list) and all(isinstance(t, str) for t in edits["tags"])
    ):
        raise CheckpointError("edits.tags: a list of strings")
    art["overrides"] = {**cp.artifacts.get("overrides", {}), **edits}
    return art


def _approved_script(conn: psycopg.Connection, p: Production) -> dict:
    return read_json(p.abs(checkpoints.approved(conn, p.id, "script").artifacts["script"]))


def produce(conn: psycopg.Connection, p: Production, revision: int, notes: str | None) -> dict:
    """A revision of the render: video, captions, chapters and thumbnails."""
    script = checkpoints.approved(conn, p.id, "script").artifacts["script"]
    audio = checkpoints.approved(conn, p.id, "audio").artifacts
    broll = checkpoints.approved(conn, p.id, "broll").artifacts
    return assemble(p, script, audio, broll, revision)
