"""Bad media where media enters: the channel's own b-roll library (pipelines/providers/broll/local.py), the
scene preparation the renderer reads (pipelines/media/prepare.py) and the audio stage's music bed
(pipelines/media/audio_finish.mix_music). A file that cannot be used is left out with the log saying which
and why, or refused saying what to do; one that can be used is used as it looks. Real ffmpeg, tiny files."""

from __future__ import annotations

import logging
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.media.audio_finish import BadMusic, mix_music
from pipelines.media.ffmpeg import probe, run_ffmpeg
from pipelines.media.prepare import compose_still, cut_clip
from pipelines.providers.broll.local import LocalLibrary

HOURS_4 = 4 * 3600


def ffmpeg(*args: str | Path) -> None:
    run_ffmpeg(list(args), what="making a test file")


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    """Every file once: a few KB each, made with ffmpeg and Pillow."""
    from PIL import Image

    d = tmp_path_factory.mktemp("media")
    Image.new("RGB", (1920, 1080), (200, 80, 20)).save(d / "good.jpg")
    Image.new("RGB", (1, 1), (200, 80, 20)).save(d / "tiny.png")
    (d / "words.jpg").write_text("this is not a picture\n")
    # 4 hours as its container says, made in a second: 2 s of frames, then one frame at 4 h
    ffmpeg("-f", "lavfi", "-i", "color=c=navy:s=1280x720:r=25", "-frames:v", "51",
           "-vf", f"setpts='if(lt(N,50),N/25/TB,{HOURS_4}/TB)'", "-fps_mode", "passthrough",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", d / "four-hours.mp4")  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac", d / "audio-only.mp4")
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=1280x720:r=25", "-t", "2", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", d / "silent-video.mp4")  # fmt: skip
    (d / "cues.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    ffmpeg("-i", d / "cues.srt", "-c:s", "srt", d / "subtitles-only.mkv")
    (d / "corrupt.mp4").write_bytes(bytes(range(256)) * 64)
    whole = (d / "silent-video.mp4").read_bytes()  # its index (moov) is at the end: cut it off
    (d / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    (d / "empty.mp4").write_bytes(b"")
    return d


@dataclass(frozen=True)
class LibraryCase:
    id: str
    file: str
    kind: str
    used: bool
    told: str  # the log line that says why (or "" when it is used)


LIBRARY = [
    LibraryCase("a good photo (control)", "good.jpg", "image", True, ""),
    LibraryCase(
        "a 1x1 image", "tiny.png", "image", False, "tiny.png is 1x1, not landscape and 1280 on its long side"
    ),
    LibraryCase("text named .jpg", "words.jpg", "image", False, "words.jpg is not an image; not used"),
    LibraryCase("a 4-hour clip", "four-hours.mp4", "video", True, ""),
    LibraryCase("an audio-only mp4", "audio-only.mp4", "video", False, "audio-only.mp4 has no video stream"),
    LibraryCase(
        "a clip with no audio or video stream",
        "subtitles-only.mkv",
        "video",
        False,
        "subtitles-only.mkv is not a readable video",
    ),
    LibraryCase("a corrupt mp4", "corrupt.mp4", "video", False, "corrupt.mp4 is not a readable video"),
    LibraryCase("a truncated mp4", "truncated.mp4", "video", False, "truncated.mp4 is not a readable video"),
    LibraryCase("an empty mp4", "empty.mp4", "video", False, "empty.mp4 is not a readable video"),
]


@pytest.mark.parametrize("case", LIBRARY, ids=lambda c: c.id)
def test_the_library_uses_a_file_only_when_it_can_be_shown(media, tmp_path, caplog, case):
    library = tmp_path / "library"
    library.mkdir()
    (library / f"rocket-{case.file}").symlink_to(media / case.file)
    (library / f"rocket-{Path(case.file).stem}.yaml").write_text("licence: CC0\ntags: [rocket]\n")
    with caplog.at_level(logging.INFO, logger="pipelines.providers.broll.local"):
        found = LocalLibrary(library, min_width=1280).search("rocket launch", case.kind)
    assert [Path(c.download).name for c in found] == ([f"rocket-{case.file}"] if case.used else [])
    if case.told:
        assert case.told in caplog.text
    if case.file == "four-hours.mp4":
        assert found[0].duration == pytest.approx(HOURS_4, abs=1)


def test_a_4_hour_clip_is_cut_to_the_frames_its_scene_needs(media, tmp_path):
    cut = cut_clip(media / "four-hours.mp4", (1344, 756), 30, 60, tmp_path / "scene.avi")
    info = probe(cut)
    assert info.duration == pytest.approx(2.0, abs=0.05) and info.video is not None
    assert (info.video.width, info.video.height) == (1344, 756)


def _mean(path: Path) -> tuple[float, ...]:
    from PIL import Image, ImageStat

    with Image.open(path) as im:
        return tuple(ImageStat.Stat(im.convert("RGB")).mean)


def test_a_16_bit_png_still_keeps_its_tones(tmp_path):
    """A 16-bit grey gradient looks like the same gradient in 8 bits, not white."""
    import numpy as np
    from PIL import Image

    ramp = np.linspace(0, 1, 160 * 90).reshape(90, 160)
    Image.fromarray((ramp * 65535).astype(np.uint16)).save(tmp_path / "deep.png")
    Image.fromarray((ramp * 255).astype(np.uint8)).save(tmp_path / "plain.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    deep = _mean(compose_still(tmp_path / "deep.png", (320, 180), tmp_path / "deep.jpg"))
    plain = _mean(compose_still(tmp_path / "plain.png", (320, 180), tmp_path / "plain.jpg"))
    assert deep == pytest.approx(plain, abs=3) and deep[0] < 160  # a mid-grey ramp (was 254: white)


@pytest.mark.parametrize(
    "make, colour",
    [
        (lambda Image, p: Image.new("CMYK", (160, 90), (0, 255, 255, 0)).save(p / "print.jpg"), (255, 0, 0)),
        (
            lambda Image, p: Image.new("RGB", (160, 90), (20, 200, 40)).save(
                p / "anim.gif",
                save_all=True,
                append_images=[Image.new("RGB", (160, 90), (0, 0, 255))],
                loop=0,
            ),
            (20, 200, 40),  # the first frame
        ),
        (lambda Image, p: Image.new("RGB", (1, 1), (250, 250, 0)).save(p / "dot.png"), (250, 250, 0)),
    ],
    ids=["CMYK JPEG", "animated GIF", "1x1 image"],
)
def test_a_still_of_another_kind_fills_the_frame_in_its_colours(tmp_path, make, colour):
    from PIL import Image

    make(Image, tmp_path)
    (source,) = [p for p in tmp_path.iterdir() if p.suffix in (".jpg", ".gif", ".png")]
    out = compose_still(source, (320, 180), tmp_path / "out.jpg")
    with Image.open(out) as im:
        assert im.size == (320, 180) and im.mode == "RGB"
        assert im.getpixel((160, 90)) == pytest.approx(colour, abs=12)  # its middle, in its own colour


def bad_music(case: str, d: Path, media: Path) -> Path:
    if case == "a zero-length file":
        (d / "bed.mp3").write_bytes(b"")
    elif case == "text named .mp3":
        (d / "bed.mp3").write_text("la la la\n")
    elif case == "a WAV without samples":
        with wave.open(str(d / "bed.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(48000)
            w.writeframes(b"")
        return d / "bed.wav"
    else:
        return media / "silent-video.mp4"
    return d / "bed.mp3"


@pytest.mark.parametrize(
    "case, told",
    [
        ("a zero-length file", "not a readable audio file"),
        ("a WAV without samples", "0.00 s of sound, too short to loop"),
        ("text named .mp3", "not a readable audio file"),
        ("a video without sound", "has no audio stream"),
    ],
)
def test_a_music_bed_that_cannot_be_looped_is_refused_saying_what_to_do(media, tmp_path, case, told):
    """Refused before mixing, with what to do (a WAV without samples used to loop forever)."""
    voice = tmp_path / "voice.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=d=1", voice)
    music = bad_music(case, tmp_path, media)
    with pytest.raises(BadMusic) as refused:
        mix_music(voice, music, tmp_path / "mix.wav", -20, 1.0)
    assert str(music) in str(refused.value) and told in str(refused.value)
    assert "set audio.music to null in the channel's YAML" in str(refused.value)
    assert not (tmp_path / "mix.wav").exists()


def test_a_short_music_bed_is_looped_under_the_voice(media, tmp_path):
    """The control: a 0.5 s bed under a 2 s voice makes a 2 s mix."""
    voice, bed = tmp_path / "voice.wav", tmp_path / "bed.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=d=2", voice)
    ffmpeg("-f", "lavfi", "-i", "sine=f=220:d=0.5", bed)
    mix_music(voice, bed, tmp_path / "mix.wav", -20, 2.0)
    assert probe(tmp_path / "mix.wav").duration == pytest.approx(2.0, abs=0.05)
