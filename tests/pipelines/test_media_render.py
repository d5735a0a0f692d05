"""render_video end to end: generated stills + espeak narration + captions -> probed MP4."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.media.captions import build_cues, write_ass
from pipelines.media.ffmpeg import FFmpegError, audio_duration, run_ffmpeg
from pipelines.media.render import Clip, Scene, plan_clips, render_video
from pipelines.providers.tts import EspeakTTS, WordTiming
from pipelines.providers.visuals import GeneratedVisuals

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
    assert not list(tmp_path.glob(".*partial"))  # the temporary file was renamed away


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
