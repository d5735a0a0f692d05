"""render_video end to end: generated stills + espeak narration + captions -> probed MP4."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.media.align import WordTiming
from pipelines.media.captions import build_cues, write_ass
from pipelines.media.ffmpeg import FFmpegError, audio_duration, run_ffmpeg
from pipelines.media.render import Clip, Scene, plan_clips, render_video
from pipelines.providers.broll.generated import GeneratedVisuals
from pipelines.providers.tts.espeak import EspeakTTS

NARRATION = "Honey never spoils. Archaeologists found edible honey in ancient tombs."


@dataclass
class Inputs:
    audio: Path
    words: list[WordTiming]
    duration: float
    scenes: list[Scene]
    folder: Path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    folder = tmp_path_factory.mktemp("render")
    audio = folder / "narration.wav"
    words = EspeakTTS("en-us", rate_wpm=165).synthesize(NARRATION, audio)
    duration = audio_duration(audio)
    headings = ["Honey never spoils", "Ancient tombs", "Still edible"]
    images = [
        GeneratedVisuals().make(h, NARRATION, folder / f"still{i}.png", size=(640, 360), seed=i).path
        for i, h in enumerate(headings)
    ]
    cuts = [0.0, duration / 3, 2 * duration / 3, duration]
    scenes = [Scene(img, cuts[i], cuts[i + 1]) for i, img in enumerate(images)]
    return Inputs(audio, words, duration, scenes, folder)


def _check(info, size: tuple[int, int], duration: float) -> None:
    assert info.video is not None and info.audio is not None
    assert (info.video.codec, info.video.pix_fmt) == ("h264", "yuv420p")
    assert (info.video.width, info.video.height) == size
    assert info.video.fps == pytest.approx(30)
    assert (info.audio.codec, info.audio.sample_rate) == ("aac", 48000)
    assert info.duration == pytest.approx(duration, abs=0.1)


@pytest.mark.parametrize("size", [(320, 180), (180, 320)])
def test_render_small(inputs: Inputs, tmp_path: Path, size: tuple[int, int]) -> None:
    assert 3.0 < inputs.duration < 6.0
    subs = write_ass(build_cues(inputs.words), tmp_path / "captions.ass", *size)
    out = tmp_path / "video.mp4"
    info = render_video(inputs.scenes, inputs.audio, out, size=size, fps=30, subtitles=subs)
    _check(info, size, inputs.duration)
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed away


def test_slice_for_a_short(inputs: Inputs, tmp_path: Path) -> None:
    start, length = 1.0, 2.0
    info = render_video(
        inputs.scenes,
        inputs.audio,
        tmp_path / "short.mp4",
        size=(180, 320),
        audio_start=start,
        duration=length,
    )
    _check(info, (180, 320), length)


@pytest.mark.slow
def test_render_full_hd(inputs: Inputs, tmp_path: Path) -> None:
    length = 3.0
    scenes = [
        Scene(s.media, s.start * length / inputs.duration, s.end * length / inputs.duration)
        for s in inputs.scenes
    ]
    cues = [c for c in build_cues(inputs.words) if c.start < length]
    subs = write_ass(cues, tmp_path / "captions.ass", 1920, 1080)
    info = render_video(
        scenes, inputs.audio, tmp_path / "hd.mp4", size=(1920, 1080), subtitles=subs, duration=length
    )
    _check(info, (1920, 1080), length)


def test_plan_clips_has_exact_frame_count() -> None:
    a, b, c = Path("a.png"), Path("b.png"), Path("c.png")
    scenes = [Scene(a, 0.0, 1.0), Scene(b, 1.0, 2.5), Scene(c, 2.5, 4.37)]
    clips = plan_clips(scenes, audio_start=0.0, duration=4.37, fps=30)
    assert sum(c.frames for c in clips) == round(4.37 * 30)
    assert [c.media for c in clips] == [a, b, c]
    # A slice on the original timeline: only the scenes inside it, shifted to start at 0.
    sliced = plan_clips(scenes, audio_start=2.0, duration=1.5, fps=30)
    assert sliced == [Clip(b, 15), Clip(c, 30)]


def test_bad_inputs_fail_clearly(inputs: Inputs, tmp_path: Path) -> None:
    out = tmp_path / "video.mp4"
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png is not a readable image"):
        render_video([Scene(broken, 0, 1)], inputs.audio, out, size=(160, 90), duration=1.0)
    with pytest.raises(FileNotFoundError):
        render_video([Scene(tmp_path / "gone.png", 0, 1)], inputs.audio, out, size=(160, 90))
    bad_audio = tmp_path / "bad.wav"
    bad_audio.write_bytes(b"RIFF....garbage")
    with pytest.raises(FFmpegError, match="rendering video.mp4"):
        render_video(inputs.scenes, bad_audio, out, size=(160, 90), duration=1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav", "broken.png"]  # nothing left behind


def test_escaped_paths_with_awkward_characters(inputs: Inputs, tmp_path: Path) -> None:
    folder = tmp_path / "it's [a], b;c:d"
    folder.mkdir()
    subs = write_ass(build_cues(inputs.words), folder / "captions.ass", 160, 90)
    info = render_video(
        inputs.scenes[:1], inputs.audio, folder / "v.mp4", size=(160, 90), subtitles=subs, duration=1.0
    )
    assert info.duration == pytest.approx(1.0, abs=0.1)


def test_video_really_moves(inputs: Inputs, tmp_path: Path) -> None:
    """Two frames of the same scene differ (the drift), so it is not a frozen slideshow."""
    out = tmp_path / "v.mp4"
    render_video(inputs.scenes[:1], inputs.audio, out, size=(320, 180), duration=3.0)
    frames = []
    for t in ("0.0", "2.9"):
        png = tmp_path / f"f{t}.png"
        run_ffmpeg(["-ss", t, "-i", str(out), "-frames:v", "1", str(png)], what="grabbing a frame")
        frames.append(png)
    from PIL import Image, ImageChops

    with Image.open(frames[0]) as a, Image.open(frames[1]) as b:
        diff = ImageChops.difference(a.convert("L"), b.convert("L"))
    assert diff.getextrema()[1] > 30


def test_many_scenes(inputs: Inputs, tmp_path: Path) -> None:
    """A long video's many scenes: exact length, and the temporary files are cleaned up."""
    n = 150
    step = inputs.duration / n
    scenes = [Scene(inputs.scenes[i % 3].media, i * step, (i + 1) * step) for i in range(n)]
    info = render_video(scenes, inputs.audio, tmp_path / "many.mp4", size=(64, 36))
    assert info.duration == pytest.approx(inputs.duration, abs=0.1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.mp4"]


def test_scene_cuts_land_on_the_right_frames(inputs: Inputs, tmp_path: Path) -> None:
    from PIL import Image

    colours = [(220, 30, 30), (30, 200, 30), (30, 30, 220)]
    stills = []
    for i, c in enumerate(colours):
        stills.append(tmp_path / f"{i}.png")
        Image.new("RGB", (64, 36), c).save(stills[-1])
    scenes = [Scene(stills[0], 0.0, 1.0), Scene(stills[1], 1.0, 2.0), Scene(stills[2], 2.0, 3.0)]
    out = tmp_path / "cuts.mp4"
    render_video(scenes, inputs.audio, out, size=(64, 36), duration=3.0, crossfade=0)
    raw = tmp_path / "frames.rgb"
    run_ffmpeg(["-i", str(out), "-f", "rawvideo", "-pix_fmt", "rgb24", str(raw)], what="decoding frames")
    data = raw.read_bytes()
    frame_bytes = 64 * 36 * 3
    assert len(data) == 90 * frame_bytes  # exactly 3 s at 30 fps

    def dominant(n: int) -> int:
        mid = n * frame_bytes + (18 * 64 + 32) * 3
        return max(range(3), key=lambda c: data[mid + c])

    assert [dominant(n) for n in (0, 29, 30, 59, 60, 89)] == [0, 0, 1, 1, 2, 2]

    # A slice for a Short: scene times stay on the original timeline and are shifted.
    short = tmp_path / "short.mp4"
    render_video(scenes, inputs.audio, short, size=(64, 36), audio_start=1.5, duration=1.0, crossfade=0)
    run_ffmpeg(["-i", str(short), "-f", "rawvideo", "-pix_fmt", "rgb24", str(raw)], what="decoding frames")
    data = raw.read_bytes()
    assert len(data) == 30 * frame_bytes
    assert [dominant(n) for n in (0, 14, 15, 29)] == [1, 1, 2, 2]


# --- helpers for the tests below: small solid-colour stills, clips made by ffmpeg, decoded frames ---


def _still(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (64, 36)) -> Path:
    from PIL import Image

    Image.new("RGB", size, colour).save(path)
    return path


def _frames(video: Path, size: tuple[int, int], folder: Path) -> list[bytes]:
    raw = folder / f"{video.stem}.rgb"
    run_ffmpeg(["-i", str(video), "-f", "rawvideo", "-pix_fmt", "rgb24", str(raw)], what="decoding frames")
    data, n = raw.read_bytes(), size[0] * size[1] * 3
    return [data[i : i + n] for i in range(0, len(data), n)]


def _centre(frame: bytes, size: tuple[int, int]) -> tuple[int, int, int]:
    w, h = size
    i = ((h // 2) * w + w // 2) * 3
    return frame[i], frame[i + 1], frame[i + 2]


def _mean(frame: bytes) -> float:
    return sum(frame) / len(frame)


def _diff(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def test_crossfade_mixes_both_neighbours(inputs: Inputs, tmp_path: Path) -> None:
    size = (320, 180)
    red, green = (
        _still(tmp_path / "r.png", (220, 30, 30), size),
        _still(tmp_path / "g.png", (30, 200, 30), size),
    )
    out = tmp_path / "fade.mp4"
    render_video(
        [Scene(red, 0, 2), Scene(green, 2, 4)], inputs.audio, out, size=size, duration=4.0, crossfade=0.5
    )
    frames = _frames(out, size, tmp_path)
    assert len(frames) == 120
    reds = [_centre(f, size)[0] for f in frames]
    assert all(r > 210 for r in reds[:53]) and all(
        r < 40 for r in reds[68:]
    )  # red before the fade, green after
    assert reds[60] == pytest.approx(125, abs=8)  # half of each at the cut itself: the fade is centred on it
    assert all(a >= b - 2 for a, b in zip(reds[50:70], reds[51:71], strict=True))  # and it never goes back
    assert _diff(frames[60], frames[40]) > 30 and _diff(frames[60], frames[80]) > 30


def test_crossfades_leave_no_trace(inputs: Inputs, tmp_path: Path) -> None:
    """Four scenes of the same grey, crossfaded: every frame is that grey, during and after each fade (a
    blend left a little open after a fade would dim the scenes that follow it)."""
    size = (64, 36)
    greys = [_still(tmp_path / f"g{i}.png", (200, 200, 200)) for i in range(4)]
    out = tmp_path / "greys.mp4"
    render_video(
        [Scene(g, i * 0.75, (i + 1) * 0.75) for i, g in enumerate(greys)],
        inputs.audio,
        out,
        size=size,
        duration=3.0,
        crossfade=0.5,
    )
    reds = [_centre(f, size)[0] for f in _frames(out, size, tmp_path)]
    assert len(reds) == 90 and max(reds) - min(reds) <= 2, reds


def _atoms(path: Path) -> list[str]:
    """The top-level MP4 boxes, in file order."""
    names, data, at = [], path.read_bytes(), 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        names.append(data[at + 4 : at + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[at + 8 : at + 16], "big")
        at += size if size else len(data)
    return names


def test_output_is_what_youtube_recommends(inputs: Inputs, tmp_path: Path) -> None:
    import subprocess

    from pipelines.media.ffmpeg import ffmpeg_exe

    out = tmp_path / "yt.mp4"
    render_video(inputs.scenes, inputs.audio, out, size=(320, 180), duration=2.0)
    said = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(out)], capture_output=True, text=True
    ).stderr
    assert "Video: h264 (High)" in said and "yuv420p" in said
    assert "Audio: aac (LC)" in said and "48000 Hz, stereo" in said
    atoms = _atoms(out)
    assert atoms.index("moov") < atoms.index("mdat")  # +faststart: playback starts before the download ends


def _clip(path: Path, seconds: float, colour: str | None = None, tone: bool = False) -> Path:
    """A test clip: ffmpeg's moving test pattern (or a solid colour), optionally with a 1 kHz tone."""
    source = f"color=c={colour}:s=96x54:r=30:d={seconds}" if colour else f"testsrc2=s=160x90:r=30:d={seconds}"
    args = ["-f", "lavfi", "-i", source]
    if tone:
        args += ["-f", "lavfi", "-i", f"sine=f=1000:d={seconds}:sample_rate=48000", "-c:a", "aac"]
    run_ffmpeg(
        [*args, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-t", str(seconds), str(path)],
        what="making a test clip",
    )
    return path


@pytest.mark.parametrize("clip_seconds", [0.5, 0.8, 3.0])  # looped, slowed, trimmed
def test_clips_fill_their_scene_and_keep_moving(inputs: Inputs, tmp_path: Path, clip_seconds: float) -> None:
    clip = _clip(tmp_path / "clip.mp4", clip_seconds)
    blue = _still(tmp_path / "b.png", (30, 30, 220))
    out = tmp_path / "clips.mp4"
    size = (64, 36)
    render_video(
        [Scene(clip, 0, 1, "video"), Scene(blue, 1, 1.5)],
        inputs.audio,
        out,
        size=size,
        duration=1.5,
        crossfade=0,
    )
    frames = _frames(out, size, tmp_path)
    assert len(frames) == 45
    scene = frames[:30]
    assert all(_mean(f) > 30 for f in scene)  # never black
    # Moving to the end: no three frames in a row alike (slowing repeats a frame now and then; a freeze would not stop).
    moved = [_diff(a, b) > 1 for a, b in zip(scene, scene[1:], strict=False)]
    assert not any(not a and not b for a, b in zip(moved, moved[1:], strict=False))
    assert all(_centre(f, size)[2] > 180 for f in frames[31:])  # the cut to the next scene is on time


def _ramp_clip(path: Path, seconds: float) -> Path:
    """A grey clip that brightens 4 levels a frame: its brightness tells which of its frames is shown."""
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"nullsrc=s=64x36:r=30:d={seconds},geq=lum='16+4*N':cb=128:cr=128",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-qp",
            "0",
            str(path),
        ],
        what="making a ramp clip",
    )
    return path


def test_clips_play_on_through_crossfades(inputs: Inputs, tmp_path: Path) -> None:
    """A clip leaving and a clip arriving in a crossfade show the frames they would show without it: the
    leaving clip keeps playing under the next scene, the arriving one plays on from where it came in."""
    ramp, blue = _ramp_clip(tmp_path / "ramp.mp4", 2.0), _still(tmp_path / "b.png", (30, 30, 220))
    out = tmp_path / "clipfades.mp4"
    size = (64, 36)
    render_video(
        [Scene(ramp, 0, 1, "video"), Scene(blue, 1, 2), Scene(ramp, 2, 3, "video")],
        inputs.audio,
        out,
        size=size,
        duration=3.0,
        crossfade=0.5,
    )
    frames = _frames(out, size, tmp_path)
    assert len(frames) == 90

    def grey(i: int) -> float:  # the ramp's frame i, in full-range RGB
        return 4 * i * 255 / 219

    def red(n: int) -> int:
        return _centre(frames[n], size)[0]

    for n in range(0, 22):  # the first clip alone: its frame n
        assert red(n) == pytest.approx(grey(n), abs=6), n
    for n in range(
        23, 37
    ):  # the fade around the cut at frame 30: still the clip's frame n, under or over blue
        u = (n - 23 + 0.5) / 15  # blue's share
        assert red(n) == pytest.approx((1 - u) * grey(n) + u * 30, abs=8), n
    for n in range(67, 90):  # the second clip came in at frame 53 (7 frames before its cut): its frame n - 53
        assert red(n) == pytest.approx(grey(n - 53), abs=6), n


def _loud_from(wav: Path, start: float, folder: Path) -> float:
    """The first time at or after `start` (s) where the output's sound is loud."""
    raw = folder / "pcm.raw"
    run_ffmpeg(["-i", str(wav), "-ac", "1", "-ar", "48000", "-f", "s16le", str(raw)], what="decoding audio")
    import array

    samples = array.array("h", raw.read_bytes())
    first = round(start * 48000)
    return next(i for i in range(first, len(samples)) if abs(samples[i]) > 3000) / 48000


def test_intro_and_outro_keep_sound_and_picture_in_sync(tmp_path: Path) -> None:
    narration = tmp_path / "narration.wav"  # 0.5 s of silence, then a 440 Hz tone: the "voice"
    run_ffmpeg(["-f", "lavfi", "-i", "aevalsrc='if(gte(t,0.5),0.5*sin(2*PI*440*t),0)':s=48000:d=2",
                str(narration)], what="making a narration")  # fmt: skip
    intro = _clip(tmp_path / "intro.mp4", 1.0, colour="red", tone=True)
    outro = _still(tmp_path / "outro.png", (30, 30, 220))
    green = _still(tmp_path / "g.png", (30, 200, 30))
    out = tmp_path / "bookends.mp4"
    info = render_video([Scene(green, 0, 2)], narration, out, size=(64, 36), intro=intro, outro=outro)
    assert info.duration == pytest.approx(1.0 + 2.0 + 3.0, abs=0.05)
    frames = _frames(out, (64, 36), tmp_path)
    assert len(frames) == 180
    assert _centre(frames[10], (64, 36))[0] > 180  # the intro first
    assert _centre(frames[60], (64, 36))[1] > 160  # then the narration's scene
    assert _centre(frames[-1], (64, 36))[2] > 180  # the outro last
    assert _loud_from(out, 0.0, tmp_path) < 0.05  # the intro's own sound plays with it
    assert _loud_from(out, 1.1, tmp_path) == pytest.approx(
        1.5, abs=0.03
    )  # the voice starts 1 s later, in sync


def test_progress_is_logged(inputs: Inputs, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="pipelines.media.render")
    render_video(inputs.scenes, inputs.audio, tmp_path / "p.mp4", size=(160, 90))
    lines = [r.getMessage() for r in caplog.records if "%" in r.getMessage() and "speed" in r.getMessage()]
    assert lines and lines[-1].startswith("rendering p.mp4: 100%")


def _dot_track(video: Path, size: tuple[int, int], folder: Path) -> list[tuple[float, float]]:
    """Per frame, the centre of the bright pixels (the dot)."""
    w, _ = size
    track = []
    for frame in _frames(video, size, folder):
        xs = ys = n = 0
        for i in range(0, len(frame), 3):
            if frame[i] > 128:
                p = i // 3
                xs, ys, n = xs + p % w, ys + p // w, n + 1
        track.append((xs / n, ys / n))
    return track


def test_ken_burns_moves_smoothly_one_way(tmp_path: Path) -> None:
    """Zoom in, pan, zoom out: within each scene the picture moves every frame, and never back (no jitter)."""
    from PIL import Image, ImageDraw

    size = (320, 180)
    still = tmp_path / "dot.png"
    img = Image.new("RGB", size)
    ImageDraw.Draw(img).ellipse((70, 40, 86, 56), fill=(255, 255, 255))  # a dot away from the centre
    img.save(still)
    audio = tmp_path / "silence.wav"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "3", str(audio)], what="making silence"
    )
    out = tmp_path / "moves.mp4"
    render_video(
        [Scene(still, 0, 1), Scene(still, 1, 2), Scene(still, 2, 3)], audio, out, size=size, crossfade=0
    )
    track = _dot_track(out, size, tmp_path)
    assert len(track) == 90
    for first in (0, 30, 60):  # one scene each: zoom in, pan, zoom out (render.MOVES)
        scene = track[first + 1 : first + 30]
        for axis in (0, 1):
            steps = [b[axis] - a[axis] for a, b in zip(scene, scene[1:], strict=False)]
            assert all(s <= 0.15 for s in steps) or all(s >= -0.15 for s in steps), (
                f"scene at {first}: {steps}"
            )
        travel = abs(scene[-1][0] - scene[0][0])
        assert travel > 5  # and it does move


def test_a_landscape_clip_fills_a_short(inputs: Inputs, tmp_path: Path) -> None:
    """A 16:9 clip in a 9:16 Short is scaled and cropped to fill the frame: no bars."""
    clip = _clip(tmp_path / "orange.mp4", 1.0, colour="orange")
    size = (36, 64)
    out = tmp_path / "short.mp4"
    render_video([Scene(clip, 0, 1, "video")], inputs.audio, out, size=size, duration=1.0)
    for frame in _frames(out, size, tmp_path):
        assert min(frame[0::3]) > 180  # every pixel's red: orange everywhere, nothing black


def test_moves_keep_labels_inset_7_percent_in_view(tmp_path: Path) -> None:
    """Generated visuals carry their label 7% in from the edges: no move may crop it away."""
    from PIL import Image, ImageDraw

    w, h = size = (320, 180)
    still = tmp_path / "corners.png"
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for x, y in ((0.07, 0.07), (0.93, 0.07), (0.07, 0.93), (0.93, 0.93)):  # the markers' outer corners
        cx, cy = round(x * w), round(y * h)
        draw.rectangle(
            (
                min(cx, cx + (-6 if x > 0.5 else 6)),
                min(cy, cy + (-6 if y > 0.5 else 6)),
                max(cx, cx + (-6 if x > 0.5 else 6)),
                max(cy, cy + (-6 if y > 0.5 else 6)),
            ),
            fill="white",
        )
    img.save(still)
    audio = tmp_path / "silence.wav"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "4", str(audio)], what="making silence"
    )
    out = tmp_path / "moves.mp4"
    render_video([Scene(still, i, i + 1) for i in range(4)], audio, out, size=size, crossfade=0)  # every move
    for frame in _frames(out, size, tmp_path):
        for left, top in ((0, 0), (w // 2, 0), (0, h // 2), (w // 2, h // 2)):
            quadrant = [frame[((top + y) * w + left + x) * 3] for y in range(h // 2) for x in range(w // 2)]
            assert sum(v > 128 for v in quadrant) > 20  # the marker in this corner is (almost) all there
