"""Task `final` (checkpoint 4): render the long-form video (one ffmpeg filtergraph), captions, chapters and
thumbnails."""

from __future__ import annotations

import errno
import logging
import time

from pydantic import ValidationError

from pipelines import costs, metadata
from pipelines.artifacts import (
    AudioOutput,
    BrollOutput,
    FinalEdits,
    FinalOutput,
    Render,
    RenderChapter,
    ScriptOutput,
    StoredScript,
    Timings,
    VisualItem,
    VisualsManifest,
)
from pipelines.checkpoints import Checkpoint, CheckpointError
from pipelines.db import Conn
from pipelines.errors import DiskFull, disk_full
from pipelines.files import remove_leftovers
from pipelines.media.align import WordTiming
from pipelines.media.captions import build_cues, write_ass, write_srt
from pipelines.media.prepare import bookend_seconds
from pipelines.media.render import Scene, render_video
from pipelines.media.thumbnail import backgrounds, make_thumbnails
from pipelines.production import Production

log = logging.getLogger(__name__)
SIZE = (1920, 1080)


def scenes_for(p: Production, timings: Timings, visuals: VisualsManifest) -> list[Scene]:
    """Scene i runs from segment i's start to segment i+1's start: visuals change with the narration."""
    spans = timings.segments
    media = {v.segment: (p.abs(v.path), v.kind) for v in visuals.visuals}
    scenes = []
    for i, span in enumerate(spans):
        end = spans[i + 1].start if i + 1 < len(spans) else timings.duration
        path, kind = media[span.segment]
        scenes.append(Scene(path, span.start, end, kind))
    return scenes


def words_of(
    timings: Timings, start: float = 0.0, end: float | None = None, lead: float = 0.0
) -> list[WordTiming]:
    """Word timings inside [start, end), shifted so that `start` is at `lead` (the intro's length)."""
    end = timings.duration if end is None else end
    return [
        WordTiming(w.text, w.start - start + lead, min(w.end, end) - start + lead)
        for w in timings.words
        if w.start >= start and w.start < end
    ]


def chapters(
    script: StoredScript, timings: Timings, min_len: float = 10.0, lead: float = 0.0
) -> list[RenderChapter]:
    """YouTube-style chapters from segment starts (shifted by the intro's length `lead`), first at 0:00. A
    chapter shorter than min_len is merged into the one before it (YouTube ignores chapter lists with
    chapters under 10 s)."""
    out: list[RenderChapter] = []
    for span in timings.segments:
        heading = script.segments[span.segment].heading
        if out and span.start + lead - out[-1].start < min_len:
            continue
        out.append(RenderChapter(start=0.0 if not out else span.start + lead, title=heading))
    if len(out) > 1 and timings.duration + lead - out[-1].start < min_len:
        out.pop()
    return out


def assemble(
    p: Production, script_rel: str, audio: AudioOutput, broll: BrollOutput, revision: int
) -> FinalOutput:
    """Render a revision: video.mp4 (the scenes, soundtrack and captions between intro and outro),
    captions.srt, thumbnails and render.json; returns the artifacts."""
    out = p.stage_dir("final", revision)
    if stale := remove_leftovers(out):  # a try killed mid-render (SIGKILL cleans nothing up)
        log.info("removed what a killed render left in %s: %s", p.rel(out), ", ".join(x.name for x in stale))
    script = StoredScript.load(p.abs(script_rel))
    timings = audio.load_timings(p)
    visuals = broll.load_visuals(p)
    style = p.cfg.style
    lead = bookend_seconds(style.intro_path)  # captions and chapters start after the intro
    cues = build_cues(words_of(timings, lead=lead))
    ass = write_ass(cues, out / "captions.ass", *SIZE, style, mode=style.caption_mode)
    srt = write_srt(cues, out / "captions.srt")
    video = out / "video.mp4"
    started = time.monotonic()
    with costs.render_cpu(p.id, f"final:r{revision}:render") as cost:  # ffmpeg's CPU-seconds
        info = render_video(
            scenes_for(p, timings, visuals),
            p.abs(audio.soundtrack),
            video,
            size=SIZE,
            fps=30,
            subtitles=ass,
            intro=style.intro_path,
            outro=style.outro_path,
        )
        thumbs = [
            p.rel(t)
            for t in make_thumbnails(
                script.title,
                [p.abs(v.path) for v in backgrounds(visuals.visuals)],
                out / "thumbnails",
                style=style,
            )
        ]
        cost["video_seconds"] = info.duration
    render = Render(
        duration=info.duration,
        chapters=chapters(script, timings, lead=lead),
        thumbnails=thumbs,
        thumbnail=0,
        intro_seconds=lead,
        render_seconds=round(time.monotonic() - started, 2),
    ).save(out / "render.json")
    return FinalOutput(
        video=p.rel(video),
        captions=p.rel(srt),
        render=p.rel(render),
        thumbnails=thumbs,
        duration=info.duration,
    )


def _approved(conn: Conn, p: Production) -> tuple[StoredScript, str, list[VisualItem]]:
    """What the listing is made from: the approved script, the narration's voice and the chosen visuals."""
    script = ScriptOutput.approved(conn, p.id).load_script(p)
    voice = AudioOutput.approved(conn, p.id).voice
    return script, voice, BrollOutput.approved(conn, p.id).load_visuals(p).visuals


def view(conn: Conn, p: Production, cp: Checkpoint) -> dict:
    """The final checkpoint on the Review page: the video, thumbnails and chapters, the listing as it would
    be published (edits applied), what YouTube would refuse in it (`problems`: field -> what to fix) and its
    publish time."""
    from pipelines.stages.publish import draft, how_made, slot_for

    final = FinalOutput.of(cp)
    render = final.load_render(p)
    script, voice, visuals = _approved(conn, p)
    proposed = draft(p, script, render, voice, visuals).edited(final.overrides)
    publish_at = slot_for(conn, p, f"{p.id:05d}-longform", p.cfg.publish.time)
    return {
        "video": final.video,
        "duration": final.duration,
        "thumbnails": final.thumbnails,
        "chapters": [c.dump() for c in render.chapters],
        "publish_at": publish_at.isoformat() if publish_at else None,
        **proposed.dump(),
        "problems": metadata.problems(
            proposed.title, proposed.description, proposed.tags, keep=how_made(script, voice, visuals)
        ),
    }


def apply_edits(conn: Conn, p: Production, cp: Checkpoint, edits: dict) -> FinalOutput:
    """Approve with edits: the reviewer's title, description, tags and thumbnail are what gets published.
    An edit YouTube would refuse is refused here, each field saying what to fix (the checkpoint stays
    pending, nothing changed)."""
    from pipelines.stages.publish import how_made

    art = FinalOutput.for_edits(cp)
    thumbnail = edits.get("thumbnail")
    if "thumbnail" in edits and (isinstance(thumbnail, bool) or thumbnail not in range(len(art.thumbnails))):
        raise CheckpointError(f"edits.thumbnail: choose 0-{len(art.thumbnails) - 1}")
    if "tags" in edits and not (
        isinstance(edits["tags"], list) and all(isinstance(t, str) for t in edits["tags"])
    ):
        raise CheckpointError("edits.tags: a list of strings")
    try:
        edited = FinalEdits.model_validate(edits)
    except ValidationError as e:  # e.g. a description that is not text
        error = e.errors()[0]
        raise CheckpointError(f"edits.{'.'.join(map(str, error['loc']))}: {error['msg']}") from None
    disclosure = how_made(*_approved(conn, p)) if edited.description is not None else ""
    if wrong := metadata.problems(edited.title, edited.description, edited.tags, keep=disclosure):
        raise CheckpointError("\n".join(f"edits.{field}: {msg}" for field, msg in wrong.items()))
    art.overrides = FinalEdits.model_validate({**(art.overrides.dump() if art.overrides else {}), **edits})
    return art


def produce(conn: Conn, p: Production, revision: int, notes: str | None) -> FinalOutput:
    """A revision of the render: video, captions, chapters and thumbnails."""
    script = ScriptOutput.approved(conn, p.id).script
    audio = AudioOutput.approved(conn, p.id)
    broll = BrollOutput.approved(conn, p.id)
    try:
        return assemble(p, script, audio, broll, revision)
    except OSError as e:  # a full disk: say which one (Pillow's and the json writes' errors name no file)
        if e.errno != errno.ENOSPC or isinstance(e, DiskFull):
            raise
        raise disk_full(e.filename or p.stage_dir("final", revision) / "video.mp4") from e
