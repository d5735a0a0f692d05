"""Stage 7: render the long-form video (one ffmpeg filtergraph), captions, chapters and thumbnails."""

from __future__ import annotations

from pipelines.media.captions import build_cues, write_ass, write_srt
from pipelines.media.prepare import bookend_seconds
from pipelines.media.render import Scene, render_video
from pipelines.production import Production, read_json, write_json
from pipelines.providers.tts import WordTiming
from pipelines.thumbnail import make_thumbnails

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
