"""Stills and clips + narration (+ ASS captions) -> H.264 High/AAC MP4 for YouTube, in ONE ffmpeg run.

How it stays fast and small:
  1. Every still and clip is prepared ONCE at a little more than the frame's size, in one codec
     (JPEG/MJPEG; see prepare.py): stills composed over a blurred fill, clips cut to their scene.
  2. ffmpeg reads them with the concat demuxer, a still listed once per second (see _listing), and
     `fps` repeats it. The per-frame work is the Ken Burns move (see _motion): a zoom is a `scale` whose
     size follows the frame number, then a `crop`; a pan is a `crop` moving across a picture scaled
     once a second (see _prescale), and a zoom's frame that would show the same as the one before is
     repeated, not scaled again (see _unmoved). Then a `blend` for crossfades, the libass captions and
     the encoder.
  3. Crossfades: two such streams. The main one shows every scene in its own time, cut to cut; the
     other only the far side of each crossfade (the next scene arriving before the cut, the last one
     leaving after it) and a blank still otherwise. `blend` mixes them only while a crossfade lasts
     (its `enable`); the rest of the time the main stream's frames pass through untouched. The opacity
     is driven by `sendcmd` (a file of opacity changes, one per frame of a fade; see _fade_commands).
     The two are interleaved before any per-frame work, so neither runs ahead. The graph has the same
     few filters however many scenes there are, so memory does not grow with the length of the video.
  4. An intro and an outro (video or image files) are scenes before and after the narration; the audio
     is their own sound (or silence), then the narration, so sound and picture stay in sync.
  5. Both cores: the encoder (x264's threads) takes most of the CPU; the filters run beside it in three
     graphs, each a thread of its own (ffmpeg runs one graph in one thread): the moves and crossfades,
     the captions (libass, every frame), the sound. Each is single-threaded (-filter_complex_threads 1):
     slice threads inside a graph only competed with the encoder for the same two cores. On 2 cores the
     render keeps as many cores busy as the encoder does alone (~1.87 of 2); what is left over the
     encoder's own cost is the filters' CPU (tests/bench/bench_render.py measures both).

Timing convention: `Scene.start`/`Scene.end` are seconds on the ORIGINAL audio timeline.
`render_video` renders the span [audio_start, audio_start + duration) of the audio and shifts the
scenes by -audio_start (scenes are clipped to the span; the first scene is stretched back to the span
start, the last one to its end, and a gap between two scenes is filled by the earlier scene). The
subtitles file must already be timed relative to the OUTPUT, intro included (0 = the first frame; see
captions.slice_cues and bookend_seconds). Scene boundaries are rounded to whole frames and the video
has exactly as many frames as its duration at `fps`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from pipelines.files import atomic_output
from pipelines.media.ffmpeg import MediaInfo, audio_duration, ffmpeg_exe, ffmpeg_failed, probe, spawn_args
from pipelines.media.fonts import FONTS_DIR
from pipelines.media.prepare import (
    bookend_seconds,
    canvas_size,
    compose_blank,
    compose_still,
    cut_clip,
    media_kind,
)

log = logging.getLogger(__name__)

# Ken Burns moves, used in turn by still scenes: "in" and "out" zoom about the centre between the whole
# picture and 1/ZOOM of it; "right" and "left" pan across the picture shown at PAN_ZOOM. Either way no
# side loses more than ~5.5% of the picture, so labels inset 7% (generated visuals) stay in view.
MOVES = ("in", "right", "out", "left")
PAN_ZOOM = 1.06


@dataclass(frozen=True)
class Scene:
    media: Path
    start: float  # seconds on the original audio timeline
    end: float
    kind: str = "image"  # "image" or "video"


@dataclass(frozen=True)
class Clip:
    media: Path
    frames: int
    kind: str = "image"


@dataclass(frozen=True)
class Sound:
    """An intro's or outro's sound: ffmpeg input `input` (None: silence), `seconds` long."""

    input: int | None
    seconds: float


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
    clips = [Clip(s.media, bounds[i + 1] - bounds[i], s.kind) for i, s in enumerate(inside)]
    return [c for c in clips if c.frames > 0]


@dataclass(frozen=True)
class Shot:
    """A clip placed on the output timeline: on screen during frames [start, end) (fades included)."""

    index: int
    clip: Clip
    start: int
    end: int


def place(clips: list[Clip], fade_frames: int) -> list[Shot]:
    """Each clip's time on screen: its own frames, plus half of each crossfade on either side
    (a fade never takes more than half of a short clip)."""
    cuts = [0]
    for c in clips:
        cuts.append(cuts[-1] + c.frames)
    half = [0] + [min(fade_frames // 2, a.frames // 2, b.frames // 2) for a, b in pairwise(clips)] + [0]
    return [Shot(i, c, cuts[i] - half[i], cuts[i + 1] + half[i + 1]) for i, c in enumerate(clips)]


@dataclass(frozen=True)
class Showing:
    """Output frames [start, end) of one stream show this shot (from its own frame start - shot.start)."""

    shot: Shot
    start: int
    end: int


def _streams(shots: list[Shot]) -> tuple[list[Showing], list[Showing]]:
    """The main stream (each shot cut to cut) and the far sides of the crossfades (see the module doc)."""
    main, cut = [], 0
    for s in shots:
        main.append(Showing(s, cut, cut + s.clip.frames))
        cut += s.clip.frames
    far = []
    for a, b in pairwise(main):  # around the cut a.end: b arriving before it, a leaving after it
        far += [
            x
            for x in (Showing(b.shot, b.shot.start, a.end), Showing(a.shot, a.end, a.shot.end))
            if x.end > x.start
        ]
    return main, far


def escape_filter_path(path: Path) -> str:
    """A path as a filter option value inside a filtergraph string (both escaping levels)."""
    s = str(path)
    for ch in "\\':":  # option level
        s = s.replace(ch, "\\" + ch)
    out = ""
    for ch in s:  # graph level
        out += "\\" + ch if ch in "\\'[],;" else ch
    return out


def _listing(entries: list[tuple[Path, str, int, int]], fps: int) -> str:
    """An ffconcat script: each (file, kind, frames, first frame) shown for its frames, a still once per
    second; a clip from its first frame on (all its frames are key frames: the cut is exact)."""

    def entry(path: Path, kind: str) -> str:  # the frame rate gives an image a 1/fps time base: exact cuts
        text = "file '" + str(path).replace("'", "'\\''") + "'\n"
        return text + (f"option framerate {fps}\n" if kind == "image" else "")

    text, at = "ffconcat version 1.0\n", 0
    for path, kind, frames, first in entries:
        # A still is listed once per second: `fps` repeats each decoded still until the next one arrives,
        # all at once, and later filters make each repeat a new frame, so a still listed once for a 15 s
        # scene would hold 450 frames (1.4 GB at 1080p) at once. One JPEG decode a second costs ~1%.
        end = at + frames
        while at < end:
            n = min(end, (at // fps + 1) * fps) - at if kind == "image" else end - at
            text += entry(path, kind) + f"duration {n / fps:.6f}\n"
            if kind != "image":
                text += f"inpoint {first / fps:.6f}\noutpoint {(first + n) / fps:.6f}\n"
            at += n
    path, kind, _, _ = entries[-1]
    return text + entry(path, kind) if kind == "image" else text  # the last still must be there twice


def _stream_entries(stream: list[Showing], files: dict[int, Path], blank: Path, total: int):
    """One stream's (file, kind, frames, first frame) list: its shots at their times, `blank` in between."""
    entries, at = [], 0
    for x in stream:
        if x.start > at:
            entries.append((blank, "image", x.start - at, 0))
        entries.append((files[x.shot.index], x.shot.clip.kind, x.end - x.start, x.start - x.shot.start))
        at = x.end
    if total > at:
        entries.append((blank, "image", total - at, 0))
    return entries


def _pick(pieces: list[tuple[int, int, str]], default: str) -> str:
    """Per frame N, the expression of the piece (frames [start, end), in order, not overlapping) that holds
    N, else `default`: a balanced tree of if(lt(N, ...)), so a frame costs a few comparisons however many
    scenes the video has. (A sum over every scene made each frame of a 30-minute video pay for 360.)"""
    if not pieces:
        return default
    if len(pieces) == 1:
        start, end, expr = pieces[0]
        return f"if(between(N,{start},{end - 1}),{expr},{default})"
    mid = len(pieces) // 2
    return f"if(lt(N,{pieces[mid][0]}),{_pick(pieces[:mid], default)},{_pick(pieces[mid:], default)})"


def _pan_size(size: tuple[int, int]) -> tuple[int, int, int]:
    """The pans' picture size (w, h) and their steps: the prepared picture shown at PAN_ZOOM."""
    (w, h), (cw, ch) = size, canvas_size(size)
    steps, rows = (cw - w) // 2, (ch - h) // 2
    pan = min(steps, round(w * (PAN_ZOOM - 1) / 2))
    return w + 2 * pan, h + 2 * (pan * rows // steps if steps else 0), pan


def _prescale(stream: list[Showing], size: tuple[int, int]) -> tuple[str, str]:
    """Expressions (of the frame number N) for the size each decoded picture is scaled to before it is
    repeated: a pan's picture at the pans' size (it does not change during the pan, so it is scaled once
    a second here, not every frame; the per-frame scale then has nothing to do), anything else as it is."""
    pw, ph, _ = _pan_size(size)
    pans = [
        (x.start, x.end, "1")
        for x in stream
        if x.shot.clip.kind == "image" and MOVES[x.shot.index % len(MOVES)] in ("right", "left")
    ]
    if not pans:
        return "iw", "ih"
    pan = _pick(pans, "0")
    return f"if({pan},{pw},iw)", f"if({pan},{ph},ih)"


def _zoom_steps(shot: Shot, steps: int, n: str = "N") -> str | None:
    """A zoom's steps above the frame size on frame `n` (an expression), or None if the shot does not zoom."""
    move = MOVES[shot.index % len(MOVES)]
    if shot.clip.kind != "image" or move not in ("in", "out"):
        return None
    u = f"clip(({n}-{shot.start})/{max(1, shot.end - shot.start - 1)},0,1)"
    return f"floor({steps}*{u})" if move == "in" else f"floor({steps}*(1-{u}))"


def _motion(stream: list[Showing], size: tuple[int, int]) -> tuple[str, str, str, str]:
    """Per-frame expressions (of the frame number N) for the Ken Burns moves: the size the prepared
    picture is scaled to (w, h), then where the frame is cropped from it (x, y).

    Free of jitter: the picture is never cropped before scaling (so the zoom itself is sub-pixel exact),
    it grows or shrinks 2 pixels at a time and is cropped about its centre, so the crop offset is a
    whole number that follows the size exactly: every point of the picture moves the same way every
    frame, never back. Pans move the crop a whole pixel at a time across the picture at the pans' size
    (already scaled to it, see _prescale: the size here is the one it has, so it is not scaled again).
    Clips and everything else are shown at the prepared size (not scaled), cropped about the centre.
    """
    (w, h), (cw, ch) = size, canvas_size(size)
    steps, rows = (cw - w) // 2, (ch - h) // 2  # 2-pixel steps from the whole picture to 1/ZOOM of it
    pan = _pan_size(size)[2]  # the pans' steps

    def row_steps(k: str | int) -> str:
        return f"floor({k}*{rows}/{steps})" if steps else "0"

    ks, xs, ys = [], [], []
    for showing in stream:
        s = showing.shot  # the move runs over the shot's whole time on screen, whichever stream shows it
        if s.clip.kind != "image":
            continue
        zoom = _zoom_steps(s, steps)
        if zoom is not None:
            k = x = zoom
        else:
            u = f"clip((N-{s.start})/{max(1, s.end - s.start - 1)},0,1)"
            k = str(pan)
            move = MOVES[s.index % len(MOVES)]
            x = f"floor({2 * pan}*{u})" if move == "right" else f"{2 * pan}-floor({2 * pan}*{u})"
        ks.append((showing.start, showing.end, k))
        xs.append((showing.start, showing.end, x))
        ys.append((showing.start, showing.end, row_steps(k)))
    k = f"({_pick(ks, str(steps))})"  # this frame's steps above the frame size (all of them: not scaled)
    return f"{w}+2*{k}", f"{h}+2*{row_steps(k)}", _pick(xs, str(steps)), _pick(ys, str(rows))


def _unmoved(stream: list[Showing], size: tuple[int, int], frames: int) -> str:
    """An expression of N, true on the frames of a zoom that show exactly the frame before (a zoom takes
    fewer 2-pixel steps than it has frames): those are not scaled again but repeated (see _move). The
    first frame of each showing and the stream's last frame are always made."""
    (w, _), (cw, _) = size, canvas_size(size)
    steps = (cw - w) // 2
    pieces = []
    for x in stream:
        now, before = _zoom_steps(x.shot, steps), _zoom_steps(x.shot, steps, "(N-1)")
        if now is not None and before is not None and min(x.end, frames - 1) > x.start + 1:
            pieces.append((x.start + 1, min(x.end, frames - 1), f"eq({now},{before})"))
    return _pick(pieces, "0")


def _repeat(i: int, stream: list[Showing], size: tuple[int, int], fps: int, frames: int) -> str:
    """Input i's pictures, converted (and a pan's scaled, see _prescale) once each, repeated to `frames`
    frames at `fps` (time base 1/(4 fps), so that the two streams' frames interleave unambiguously)."""
    w, h = (_by_time(e, fps) for e in _prescale(stream, size))
    return (
        f"[{i}:v]scale=w='{w}':h='{h}':eval=frame:flags=bilinear:out_range=tv:out_color_matrix=bt709,"
        f"format=yuv420p,fps={fps}:start_time=0,trim=end_frame={frames},settb=1/{4 * fps},setpts=4*N"
    )


def _by_time(expr: str, fps: int) -> str:
    """An expression of the frame number N, computed from the frame's time: a filter's own `n` counts the
    frames it has seen, and scale's and crop's are one frame apart."""
    return expr.replace("N", f"round(t*{fps})")


def _move(stream: list[Showing], size: tuple[int, int], fps: int, frames: int) -> str:
    w, h = size
    # Bilinear: the picture is never shrunk by more than ZOOM (1.12x), where it looks the same as bicubic
    # and costs ~30% less.
    sw, sh, x, y = (_by_time(e, fps) for e in _motion(stream, size))
    # A frame that would show the same as the one before is dropped before the scale and `fps` repeats the
    # one before in its place (the same picture, not scaled twice).
    unmoved = _by_time(_unmoved(stream, size, frames), fps)
    return (
        f"select='not({unmoved})',scale=w='{sw}':h='{sh}':eval=frame:flags=bilinear,"
        f"crop=w={w}:h={h}:x='{x}':y='{y}':exact=1,setsar=1,fps={fps}"
    )


def _fade_commands(main: list[Showing], fps: int) -> str:
    """sendcmd lines: the main stream's opacity over the other, frame by frame through each crossfade (the
    main stream shows the leaving scene up to the cut, the arriving one from it). sendcmd sits right after
    the blend, so the frame before each one sets it (the blend makes one frame at a time, and a new frame
    runs the filters after it first): a command placed on one input would be early whenever that input
    ran ahead of the other."""
    lines = []
    for a, b in pairwise(main):
        n = a.shot.end - b.shot.start  # frames where both are on screen
        for k in range(n):
            u = (k + 0.5) / (n + 1)  # the arriving scene's share: one half on the cut's frame
            opacity = min(u if b.shot.start + k >= b.start else 1 - u, 0.999)  # 1 is ignored once lower
            at = max(0.0, (b.shot.start + k - 1.25) / fps)  # just before the previous frame's time
            lines.append(f"{at:.6f} blend@xfade all_opacity {opacity:.4f};")
    return "\n".join(lines) + "\n"


def _fading(main: list[Showing], fps: int) -> str:
    """The blend's `enable`: true on the frames of a crossfade."""
    spans = [(b.shot.start, a.shot.end, "1") for a, b in pairwise(main) if a.shot.end > b.shot.start]
    return _by_time(_pick(spans, "0"), fps)


def _audio_chain(audio_start: float, duration: float, intro: Sound | None, outro: Sound | None) -> str:
    """Intro sound (or silence), the narration span, outro sound (or silence) -> [aout]."""
    fmt = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"
    parts = [
        f"[1:a]atrim=start={audio_start:.6f}:duration={duration:.6f},asetpts=PTS-STARTPTS,"
        f"apad=whole_dur={duration:.6f},{fmt}[narr]"
    ]
    order = []
    for label, book in (("intro", intro), ("narr", None), ("outro", outro)):
        if book is not None:
            src = f"[{book.input}:a]{fmt}," if book.input is not None else "anullsrc=r=48000:cl=stereo,"
            parts.append(f"{src}apad=whole_dur={book.seconds:.6f},atrim=duration={book.seconds:.6f}[{label}]")
        if book is not None or label == "narr":
            order.append(f"[{label}]")
    if len(order) == 1:
        return parts[0].replace("[narr]", "[aout]")
    return ";".join(parts) + ";" + "".join(order) + f"concat=n={len(order)}:v=0:a=1[aout]"


def _encode_args(out: Path, *, fps: int, duration: float, preset: str, crf: int) -> list[str]:
    """YouTube's recommended upload: H.264 High, yuv420p, AAC-LC 48 kHz stereo, moov atom first."""
    return [
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-r", str(fps),
        "-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2",
        "-t", f"{duration:.6f}", "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip


def run_with_progress(args: list[str], *, what: str, seconds: float) -> None:
    """run_ffmpeg, reading `-progress` so the task log gets a line about every 10% (with the speed)."""
    import shlex

    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats",
           "-progress", "pipe:1", *[str(a) for a in args]]  # fmt: skip
    log.info("ffmpeg (%s): %s", what, shlex.join(cmd))
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as err:
        proc = subprocess.Popen(
            spawn_args(cmd), stdout=subprocess.PIPE, stderr=err, text=True, errors="replace"
        )
        assert proc.stdout is not None
        done, speed, next_mark = 0.0, "?", 10
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and value.isdigit():
                done = int(value) / 1e6
            elif key == "speed":
                speed = value
            elif key == "progress" and seconds > 0:
                # ffmpeg's last report (`progress=end`) is 100%, even when its clock stops a frame short
                pct = 100 if value == "end" else min(99, int(done / seconds * 100))
                if pct >= next_mark:
                    log.info("%s: %d%% (%.1f of %.1f s), speed %s", what, pct, done, seconds, speed)
                    next_mark = pct // 10 * 10 + 10
        code = proc.wait()
        err.seek(0)
        stderr = err.read()
    if code != 0:
        raise ffmpeg_failed(what, cmd, stderr, code)


def _bookends(clips: list[Clip], intro: Path | None, outro: Path | None, fps: int):
    """The intro and outro as clips around `clips`, their sounds (input numbers counted from the first
    extra input) and the extra ffmpeg inputs those sounds need."""
    sounds: dict[str, Sound] = {}
    extra_inputs: list[str] = []
    for position, path in (("intro", intro), ("outro", outro)):
        if path is None:
            continue
        clip = Clip(Path(path), round(bookend_seconds(path) * fps), media_kind(path))
        clips = [clip, *clips] if position == "intro" else [*clips, clip]
        index = None
        if clip.kind == "video" and probe(path).audio is not None:
            index = len(extra_inputs) // 2
            extra_inputs += ["-i", str(path)]
        sounds[position] = Sound(index, clip.frames / fps)  # its sound lasts exactly as long as its frames
    return clips, sounds, extra_inputs


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
    crossfade: float = 0.5,
    intro: Path | None = None,
    outro: Path | None = None,
    preset: str = "veryfast",
    crf: int = 23,
) -> MediaInfo:
    """Render scenes over the audio span to `out` (see the module doc for the timing convention)."""
    w, h = size
    if w % 2 or h % 2 or w < 16 or h < 16:
        raise ValueError(f"size {w}x{h}: width and height must be even and at least 16")
    for s in scenes:
        if not Path(s.media).is_file():
            raise FileNotFoundError(f"scene {s.kind} {s.media} does not exist")
    if subtitles is not None and not Path(subtitles).is_file():
        raise FileNotFoundError(f"subtitles file {subtitles} does not exist")
    if duration is None:
        duration = audio_duration(audio) - audio_start
    if duration <= 0:
        raise ValueError(
            f"nothing to render: audio_start {audio_start:.2f} s is at or past the end of {audio}"
        )
    clips, sounds, extra_inputs = _bookends(
        plan_clips(scenes, audio_start=audio_start, duration=duration, fps=fps), intro, outro, fps
    )
    frames = sum(c.frames for c in clips)
    total = frames / fps
    shots = place(clips, round(crossfade * fps))
    main, far = _streams(shots)
    streams = [main, far] if far else [main]

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log.info(
        "rendering %s: %d scenes, %dx%d@%d, %.2f s, crossfade %.2f s",
        out.name,
        len(clips),
        w,
        h,
        fps,
        total,
        crossfade if len(streams) == 2 else 0,
    )
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as work_dir:
        work = Path(work_dir)
        files = _prepare(shots, size, fps, work)
        blank = compose_blank(canvas_size(size), work / "blank.jpg")
        inputs: list[str] = []
        for i, stream in enumerate(streams):
            listing = work / f"stream{i}.ffconcat"
            listing.write_text(_listing(_stream_entries(stream, files, blank, frames), fps), encoding="utf-8")
            inputs += ["-f", "concat", "-safe", "0", "-reinit_filter", "0", "-i", str(listing)]
            if i == 0:
                inputs += ["-i", str(audio)]
        first_extra = len(streams) + 1  # after the streams and the narration
        sounds = {
            k: Sound(None if v.input is None else first_extra + v.input, v.seconds) for k, v in sounds.items()
        }
        graphs = [
            _video_chain(streams, size, fps, frames, work, "vout" if subtitles is None else "moved"),
            *_caption_chain(subtitles),
            _audio_chain(audio_start, duration, sounds.get("intro"), sounds.get("outro")),
        ]
        args = ["-filter_complex_threads", "1", *inputs, *extra_inputs]
        for i, text in enumerate(graphs):  # each graph runs in a thread of its own (see _caption_chain)
            graph = work / f"graph{i}.txt"
            graph.write_text(text, encoding="utf-8")
            args += ["-/filter_complex", str(graph)]
        args += ["-map", "[vout]", "-map", "[aout]"]
        with atomic_output(out) as tmp_out:  # a failed render leaves no half video
            args += _encode_args(tmp_out, fps=fps, duration=total, preset=preset, crf=crf)
            run_with_progress(args, what=f"rendering {out.name}", seconds=total)
    return probe(out)


COLOUR = "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"


def _caption_chain(subtitles: Path | None) -> list[str]:
    """The graph that burns the captions into [moved] -> [vout] (none without captions: the video graph
    then ends at [vout]). libass runs on every frame, so it gets a graph, and so a thread, of its own: it
    works on one frame while the moves are computed for the next, and the encoder has both cores."""
    if subtitles is None:
        return []
    kind = "ass" if Path(subtitles).suffix.lower() == ".ass" else "subtitles"
    sub = escape_filter_path(Path(subtitles).resolve())
    return [f"[moved]{kind}=filename={sub}:fontsdir={escape_filter_path(FONTS_DIR)},{COLOUR}[vout]"]


def _video_chain(
    streams: list[list[Showing]], size: tuple[int, int], fps: int, frames: int, work: Path, out: str
) -> str:
    """The video so far -> [out]: one stream moved, or two streams (inputs 0 and 2) moved and blended."""
    end = f",{COLOUR}[vout]" if out == "vout" else f"[{out}]"
    if len(streams) == 1:
        return f"{_repeat(0, streams[0], size, fps, frames)},{_move(streams[0], size, fps, frames)}{end}"
    commands = work / "fades.cmd"
    commands.write_text(_fade_commands(streams[0], fps), encoding="utf-8")
    # The two streams are interleaved (main's frame, then the other's, by time) before any per-frame work,
    # then split again: so neither runs ahead of the other with new frames waiting at the blend (memory), and the
    # stills can be listed once a second (one decode a second).
    return (
        f"{_repeat(0, streams[0], size, fps, frames)}[pa];{_repeat(2, streams[1], size, fps, frames)},"
        "setpts=PTS+1[pb];"
        "[pa][pb]interleave=nb_inputs=2,split[ia][ib];"
        f"[ia]select='not(mod(n,2))',setpts=N/({fps}*TB),{_move(streams[0], size, fps, frames)}[a];"
        f"[ib]select='mod(n,2)',setpts=N/({fps}*TB),{_move(streams[1], size, fps, frames)}[b];"
        f"[a][b]blend@xfade=all_mode=normal:all_opacity=1:enable='{_fading(streams[0], fps)}',"
        f"sendcmd=filename={escape_filter_path(commands)},format=yuv420p{end}"
    )


def _prepare(
    shots: list[Shot], size: tuple[int, int], fps: int, work: Path, *, follow: bool | None = None
) -> dict[int, Path]:
    """Shot index -> its frame-sized file: composed stills (each distinct one once), cut clips. With
    `follow` (by default: when the frame is portrait, a Short) a picture of another shape is cropped where
    its subject is (prepare.py, reframe.py) instead of fitted over a blurred fill or cropped at its centre."""
    from functools import partial

    follow = size[1] > size[0] if follow is None else follow
    stills = list(dict.fromkeys(s.clip.media for s in shots if s.clip.kind == "image"))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # Pillow and ffmpeg release the GIL
        composed = pool.map(
            partial(compose_still, follow=follow),
            stills,
            [canvas_size(size)] * len(stills),
            [work / f"still{i:04d}.jpg" for i in range(len(stills))],
        )
        cut = {
            s.index: pool.submit(
                cut_clip,
                s.clip.media,
                canvas_size(size),
                fps,
                s.end - s.start,
                work / f"clip{s.index:04d}.avi",
                follow=follow,
            )
            for s in shots
            if s.clip.kind == "video"
        }
        by_still = dict(zip(stills, composed, strict=True))
        return {s.index: cut[s.index].result() if s.index in cut else by_still[s.clip.media] for s in shots}
