"""Stills + narration (+ ASS captions) -> H.264/AAC MP4, in ONE ffmpeg run.

Per scene the still is decoded and composed ONCE (blurred fill behind the still fitted to
a canvas a little larger than the frame), converted to yuv420p once, repeated with the
`loop` filter, and given a slow drift with a time-based `crop` (no per-frame scaling, so
the cost is close to the encoder's own). The clips are concatenated, the captions burned
in with libass using the committed fonts, and the audio trimmed to the requested span.

Timing convention: `Scene.start`/`Scene.end` are seconds on the ORIGINAL audio timeline.
`render_video` renders the span [audio_start, audio_start + duration) of the audio and
shifts the scenes by -audio_start (scenes are clipped to the span; the first scene is
stretched back to the span start, the last one to its end, and a gap between two scenes
is filled by the earlier still). The subtitles file must already be timed relative to the
OUTPUT (0 = audio_start). Frame boundaries are rounded to whole frames so the video has
exactly round(duration * fps) frames and ends with the audio.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from pipelines.media.ffmpeg import MediaInfo, audio_duration, probe, run_ffmpeg
from pipelines.media.fonts import FONTS_DIR

log = logging.getLogger(__name__)

OVERSCAN = 0.08  # the canvas is this much larger than the frame; the drift moves within it
BLUR_DOWNSCALE = 8  # the fill behind the still is blurred at 1/8 size, then scaled up
BG_DIM = 0.7  # and darkened a little so the still stands out
# Drift paths, as (x, y) fractions of the free margin at the start and at the end of a scene.
DRIFTS = [((0.0, 0.5), (1.0, 0.5)), ((1.0, 0.2), (0.0, 0.8)), ((0.5, 0.0), (0.5, 1.0)), ((0.2, 1.0), (0.8, 0.0))]


@dataclass(frozen=True)
class Scene:
    image: Path
    start: float  # seconds on the original audio timeline
    end: float


@dataclass(frozen=True)
class Clip:
    image: Path
    frames: int


def plan_clips(scenes: list[Scene], *, audio_start: float, duration: float, fps: int) -> list[Clip]:
    """Whole-frame clip lengths covering [audio_start, audio_start + duration) exactly."""
    if not scenes:
        raise ValueError("render needs at least one scene")
    total = round(duration * fps)
    if total < 1:
        raise ValueError(f"duration {duration:.3f} s is shorter than one frame at {fps} fps")
    span_end = audio_start + duration
    inside = [s for s in sorted(scenes, key=lambda s: s.start) if s.end > audio_start and s.start < span_end]
    if not inside:  # no scene overlaps the span: show the scene nearest to it
        inside = [min(scenes, key=lambda s: min(abs(s.start - audio_start), abs(s.end - audio_start)))]
    bounds = [0] + [min(total, max(0, round((s.start - audio_start) * fps))) for s in inside[1:]] + [total]
    clips = [Clip(s.image, bounds[i + 1] - bounds[i]) for i, s in enumerate(inside)]
    return [c for c in clips if c.frames > 0]


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def escape_filter_path(path: Path) -> str:
    """A path as a filter option value inside a filtergraph string (both escaping levels)."""
    s = str(path)
    for ch in "\\':":  # option level
        s = s.replace(ch, "\\" + ch)
    out = ""
    for ch in s:  # graph level
        out += "\\" + ch if ch in "\\'[],;" else ch
    return out


def _clip_chain(i: int, clip: Clip, size: tuple[int, int], fps: int) -> str:
    w, h = size
    # Portrait (Shorts): the still stays at exactly full width and the drift is vertical only.
    cw, ch = (w if h > w else _even(w * (1 + OVERSCAN))), _even(h * (1 + OVERSCAN))
    bw, bh = _even(cw / BLUR_DOWNSCALE), _even(ch / BLUR_DOWNSCALE)
    (x0, y0), (x1, y1) = DRIFTS[i % len(DRIFTS)]
    last = max(clip.frames - 1, 1)
    x = f"(iw-ow)*({x0:g}+({x1 - x0:g})*n/{last})"
    y = f"(ih-oh)*({y0:g}+({y1 - y0:g})*n/{last})"
    blur = max(2, min(bw, bh) // 12)
    return (
        f"[{i}:v]split=2[bg{i}][fg{i}];"
        f"[bg{i}]scale={bw}:{bh}:force_original_aspect_ratio=increase,crop={bw}:{bh},"
        f"boxblur={blur}:3,colorchannelmixer=rr={BG_DIM}:gg={BG_DIM}:bb={BG_DIM},"
        f"scale={cw}:{ch}:flags=bilinear[bgs{i}];"
        f"[fg{i}]scale={cw}:{ch}:force_original_aspect_ratio=decrease:force_divisible_by=2[fgs{i}];"
        f"[bgs{i}][fgs{i}]overlay=x=(W-w)/2:y=(H-h)/2:format=rgb,"
        f"scale=out_range=tv:out_color_matrix=bt709,format=yuv420p,"
        f"loop=loop={clip.frames - 1}:size=1:start=0,settb=1/{fps},setpts=N,"
        f"crop=w={w}:h={h}:x={x}:y={y}:exact=1,setsar=1[v{i}]"
    )


def _encode_args(out: Path, *, fps: int, duration: float, preset: str, crf: int) -> list[str]:
    return [
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-r", str(fps),
        "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
        "-t", f"{duration:.6f}", "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip


def _audio_chain(index: int, audio_start: float, duration: float) -> str:
    return (
        f"[{index}:a]atrim=start={audio_start:.6f}:duration={duration:.6f},asetpts=PTS-STARTPTS,"
        f"apad=whole_dur={duration:.6f},aresample=48000[aout]"
    )


def render_video(
    scenes: list[Scene],
    audio: Path,
    out: Path,
    *,
    size: tuple[int, int],
    fps: int = 30,
    subtitles: Path | None = None,
    audio_start: float = 0.0,
    duration: float | None = None,
    preset: str = "veryfast",
    crf: int = 23,
) -> MediaInfo:
    """Render scenes over the audio span to `out` (see the module doc for the timing convention)."""
    w, h = size
    if w % 2 or h % 2 or w < 16 or h < 16:
        raise ValueError(f"size {w}x{h}: width and height must be even and at least 16")
    for s in scenes:
        if not Path(s.image).is_file():
            raise FileNotFoundError(f"scene image {s.image} does not exist")
    if subtitles is not None and not Path(subtitles).is_file():
        raise FileNotFoundError(f"subtitles file {subtitles} does not exist")
    if duration is None:
        duration = audio_duration(audio) - audio_start
    if duration <= 0:
        raise ValueError(f"nothing to render: audio_start {audio_start:.2f} s is at or past the end of {audio}")
    clips = plan_clips(scenes, audio_start=audio_start, duration=duration, fps=fps)

    args: list[str] = []
    for clip in clips:
        args += ["-framerate", str(fps), "-i", str(clip.image)]
    args += ["-i", str(audio)]
    chains = [_clip_chain(i, clip, size, fps) for i, clip in enumerate(clips)]
    joined = "".join(f"[v{i}]" for i in range(len(clips)))
    video = f"{joined}concat=n={len(clips)}:v=1:a=0,setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"
    if subtitles is not None:
        sub_filter = "ass" if Path(subtitles).suffix.lower() == ".ass" else "subtitles"
        video += (
            f",{sub_filter}=filename={escape_filter_path(Path(subtitles).resolve())}"
            f":fontsdir={escape_filter_path(FONTS_DIR)}"
        )
    graph = ";".join([*chains, video + "[vout]", _audio_chain(len(clips), audio_start, duration)])
    args += ["-filter_complex", graph, "-map", "[vout]", "-map", "[aout]"]

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    args += _encode_args(tmp, fps=fps, duration=duration, preset=preset, crf=crf)
    log.info("rendering %s: %d clips, %dx%d@%d, %.2f s", out.name, len(clips), w, h, fps, duration)
    try:
        run_ffmpeg(args, what=f"rendering {out.name}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return probe(out)
