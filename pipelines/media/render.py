"""Stills + narration (+ ASS captions) -> H.264/AAC MP4, in ONE ffmpeg run.

How it stays fast and small:
  1. Each distinct still is composed ONCE with Pillow into a "canvas" a little larger than
     the frame (OVERSCAN): the still fitted inside, over a blurred, dimmed copy of itself
     that fills the rest (a 16:9 still in a 9:16 Short sits at full width in the middle).
  2. ffmpeg reads the canvases with the concat demuxer (one decoded frame per scene, with
     its duration), converts each to yuv420p once, and only then repeats it with `fps`, so
     the per-frame work is a `crop` whose window drifts slowly over the canvas (a pointer
     offset, no scaling), the libass captions, and the encoder itself.
  3. The graph has the same few filters however many scenes there are, so memory does not
     grow with the length of the video.
The drift is one smooth, slow Lissajous path over the whole video (horizontal and vertical
at different periods; vertical only for portrait frames), so it never jerks at a cut.

Timing convention: `Scene.start`/`Scene.end` are seconds on the ORIGINAL audio timeline.
`render_video` renders the span [audio_start, audio_start + duration) of the audio and
shifts the scenes by -audio_start (scenes are clipped to the span; the first scene is
stretched back to the span start, the last one to its end, and a gap between two scenes
is filled by the earlier still). The subtitles file must already be timed relative to the
OUTPUT (0 = audio_start; see captions.slice_cues). Scene boundaries are rounded to whole
frames and the video has exactly round(duration * fps) frames, ending with the audio.
"""

from __future__ import annotations

import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pipelines.media.ffmpeg import MediaInfo, audio_duration, probe, run_ffmpeg
from pipelines.media.fonts import FONTS_DIR

log = logging.getLogger(__name__)

OVERSCAN = 0.06  # the canvas is this much larger than the frame; the drift moves within it
DRIFT_PERIODS = (26.0, 17.0)  # seconds for one full back-and-forth, horizontally / vertically
BLUR_DOWNSCALE = 8  # the fill behind a still is blurred at 1/8 size, then scaled up
BG_DIM = 0.7  # and darkened a little so the still stands out


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


def canvas_size(size: tuple[int, int]) -> tuple[int, int]:
    """The composed still's size: OVERSCAN larger than the frame (portrait: taller only,
    so a landscape still stays exactly full width)."""
    w, h = size
    return (w if h > w else _even(w * (1 + OVERSCAN))), _even(h * (1 + OVERSCAN))


def compose_still(image: Path, canvas: tuple[int, int], out: Path) -> Path:
    """The still fitted into `canvas` over a blurred, dimmed fill made from itself (PNG)."""
    from PIL import Image, ImageFilter, ImageOps

    cw, ch = canvas
    try:
        with Image.open(image) as im:
            im = im.convert("RGB")
    except OSError as e:
        raise ValueError(f"scene image {image} is not a readable image: {e}") from None
    if abs((im.width / im.height) / (cw / ch) - 1) < 0.02:  # same shape: just scale it
        result = ImageOps.fit(im, canvas, Image.Resampling.BICUBIC)
    else:
        small = (max(16, cw // BLUR_DOWNSCALE), max(16, ch // BLUR_DOWNSCALE))
        fill = ImageOps.fit(im, small, Image.Resampling.BILINEAR).filter(
            ImageFilter.GaussianBlur(min(small) / 16)
        )
        result = fill.point(lambda v: round(v * BG_DIM)).resize(canvas, Image.Resampling.BILINEAR)
        still = ImageOps.contain(im, canvas, Image.Resampling.BICUBIC)
        result.paste(still, ((cw - still.width) // 2, (ch - still.height) // 2))
    result.save(out, "PNG", compress_level=1)
    return out


def escape_filter_path(path: Path) -> str:
    """A path as a filter option value inside a filtergraph string (both escaping levels)."""
    s = str(path)
    for ch in "\\':":  # option level
        s = s.replace(ch, "\\" + ch)
    out = ""
    for ch in s:  # graph level
        out += "\\" + ch if ch in "\\'[],;" else ch
    return out


def _concat_list(clips: list[Clip], canvases: dict[Path, Path], fps: int) -> str:
    """An ffconcat script: each canvas shown for its clip's duration."""

    def entry(path: Path) -> str:  # the frame rate gives the image a 1/fps time base: exact cuts
        return "file '" + str(path).replace("'", "'\\''") + f"'\noption framerate {fps}\n"

    text = "ffconcat version 1.0\n"
    for clip in clips:
        # A still is listed once per second of its clip: `fps` repeats each decoded still until the next
        # one arrives, and `ass` copies every repeat to draw on it, so a still listed once for a 15 s scene
        # would hold 450 frames (1.4 GB at 1080p) at once. One PNG decode a second costs ~1%.
        left = clip.frames
        while left > 0:
            n = min(left, fps)
            text += entry(canvases[clip.image]) + f"duration {n / fps:.6f}\n"
            left -= n
    return text + entry(canvases[clips[-1].image])  # the demuxer needs the last file twice


def _video_chain(size: tuple[int, int], fps: int, frames: int, subtitles: Path | None) -> str:
    w, h = size
    px, py = (f * fps for f in DRIFT_PERIODS)
    x = f"(iw-ow)*(0.5+0.5*sin(2*PI*n/{px:g}))"
    y = f"(ih-oh)*(0.5+0.5*sin(2*PI*n/{py:g}))"
    chain = (
        f"[0:v]scale=out_range=tv:out_color_matrix=bt709,format=yuv420p,"  # once per scene
        f"fps={fps}:start_time=0,trim=end_frame={frames},setpts=N/({fps}*TB),"
        f"crop=w={w}:h={h}:x='{x}':y='{y}':exact=1,setsar=1"
    )
    if subtitles is not None:
        kind = "ass" if subtitles.suffix.lower() == ".ass" else "subtitles"
        chain += f",{kind}=filename={escape_filter_path(subtitles)}:fontsdir={escape_filter_path(FONTS_DIR)}"
    return chain + ",setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709[vout]"


def _audio_chain(audio_start: float, duration: float) -> str:
    return (
        f"[1:a]atrim=start={audio_start:.6f}:duration={duration:.6f},asetpts=PTS-STARTPTS,"
        f"apad=whole_dur={duration:.6f},aresample=48000[aout]"
    )


def _encode_args(out: Path, *, fps: int, duration: float, preset: str, crf: int) -> list[str]:
    return [
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-r", str(fps),
        "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
        "-t", f"{duration:.6f}", "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip


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
        raise ValueError(
            f"nothing to render: audio_start {audio_start:.2f} s is at or past the end of {audio}"
        )
    clips = plan_clips(scenes, audio_start=audio_start, duration=duration, fps=fps)
    frames = sum(c.frames for c in clips)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(f".{out.name}.partial")
    log.info("rendering %s: %d scenes, %dx%d@%d, %.2f s", out.name, len(clips), w, h, fps, duration)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as work_dir:
        work = Path(work_dir)
        stills = list(dict.fromkeys(clip.image for clip in clips))  # distinct, in order
        targets = [work / f"canvas{i:04d}.png" for i in range(len(stills))]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # Pillow releases the GIL
            done = pool.map(compose_still, stills, [canvas_size(size)] * len(stills), targets)
            canvases = dict(zip(stills, done, strict=True))
        listing = work / "scenes.ffconcat"
        listing.write_text(_concat_list(clips, canvases, fps), encoding="utf-8")
        graph = ";".join(
            [
                _video_chain(size, fps, frames, Path(subtitles).resolve() if subtitles else None),
                _audio_chain(audio_start, duration),
            ]
        )
        args = ["-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(audio),
                "-filter_complex", graph, "-map", "[vout]", "-map", "[aout]"]  # fmt: skip
        args += _encode_args(tmp_out, fps=fps, duration=duration, preset=preset, crf=crf)
        try:
            run_ffmpeg(args, what=f"rendering {out.name}")
            os.replace(tmp_out, out)
        finally:
            tmp_out.unlink(missing_ok=True)
    return probe(out)
