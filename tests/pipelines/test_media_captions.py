"""Captions: cues from real espeak timings, and an ASS file that libass really draws."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from pipelines.media.captions import Cue, build_cues, slice_cues, write_ass, write_srt
from pipelines.media.ffmpeg import run_ffmpeg
from pipelines.media.fonts import FONTS_DIR
from pipelines.media.render import escape_filter_path
from pipelines.providers.tts import EspeakTTS, WordTiming

TEXT = (
    "Octopuses have three hearts. Two pump blood through the gills, and one pumps it through the rest "
    "of the body. Their blood is blue!"
)


@pytest.fixture(scope="module")
def words(tmp_path_factory: pytest.TempPathFactory) -> list[WordTiming]:
    return EspeakTTS("en-us").synthesize(TEXT, tmp_path_factory.mktemp("tts") / "v.wav")


def test_cues_cover_the_words_in_order_without_overlap(words: list[WordTiming]) -> None:
    cues = build_cues(words, max_chars=32, max_words=6)
    assert " ".join(c.text for c in cues) == " ".join(w.text for w in words)
    assert all(len(c.text) <= 32 and len(c.text.split()) <= 6 for c in cues)
    assert all(c.start < c.end for c in cues)
    assert all(a.end <= b.start for a, b in pairwise(cues))
    # In sync with the voice: each cue starts when its first word is spoken.
    i = 0
    for cue in cues:
        assert cue.start == pytest.approx(words[i].start, abs=0.001)
        n = 1  # how many timed words make up this cue (espeak may time "of the" as one)
        while " ".join(w.text for w in words[i : i + n]) != cue.text:
            n += 1
        i += n
    assert cues[-1].end == pytest.approx(words[-1].end, abs=0.001)
    # A sentence never continues on the same line after its full stop.
    assert not any(". " in c.text for c in cues)


def test_long_pause_breaks_a_line() -> None:
    words = [WordTiming("one", 0.0, 0.3), WordTiming("two", 0.3, 0.6), WordTiming("three", 1.6, 2.0)]
    cues = build_cues(words)
    assert [c.text for c in cues] == ["one two", "three"]
    assert cues[0].end <= cues[1].start == 1.6


def test_a_word_longer_than_a_line_gets_its_own_cue() -> None:
    words = [WordTiming("a", 0, 0.2), WordTiming("x" * 40, 0.2, 1.0), WordTiming("b", 1.0, 1.2)]
    assert [c.text for c in build_cues(words, max_chars=10)] == ["a", "x" * 40, "b"]


def _bright_fraction(png: Path, box: tuple[int, int, int, int]) -> float:
    from PIL import Image

    with Image.open(png) as im:
        region = im.convert("L").crop(box)
        hist = region.histogram()
    return sum(hist[200:]) / (region.width * region.height)


@pytest.mark.parametrize("size", [(320, 180), (180, 320)])
def test_libass_renders_the_ass(tmp_path: Path, size: tuple[int, int]) -> None:
    w, h = size
    cues = [Cue(0.0, 1.0, "Independência {ação} \\N"), Cue(1.0, 2.0, "second line")]
    ass = write_ass(cues, tmp_path / "c.ass", w, h)
    text = ass.read_text(encoding="utf-8")
    assert "DejaVu Sans" in text and f"PlayResX: {w}" in text
    assert "\\{ação\\}" in text  # braces escaped, not an override block

    video = tmp_path / "subs.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"color=c=black:s={w}x{h}:r=30:d=2",
         "-vf", f"ass=filename={escape_filter_path(ass)}:fontsdir={escape_filter_path(FONTS_DIR)}",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video)],
        what="burning test captions",
    )  # fmt: skip
    frame = tmp_path / "frame.png"
    run_ffmpeg(["-ss", "0.5", "-i", str(video), "-frames:v", "1", str(frame)], what="grabbing a frame")
    # White caption text in the lower part of the frame, nothing at the top.
    assert _bright_fraction(frame, (0, h // 2, w, h)) > 0.003
    assert _bright_fraction(frame, (0, 0, w, h // 4)) == 0


def test_portrait_captions_are_larger_and_higher() -> None:
    from pipelines.media.captions import ass_style

    land, port = ass_style(1920, 1080), ass_style(1080, 1920)
    assert port["size"] > land["size"]
    assert port["margin_v"] > 1920 * 0.2


def test_srt(tmp_path: Path) -> None:
    srt = write_srt([Cue(0.0, 1.5, "olá"), Cue(61.25, 3723.5, "fim")], tmp_path / "c.srt")
    assert srt.read_text(encoding="utf-8") == (
        "1\n00:00:00,000 --> 00:00:01,500\nolá\n\n2\n00:01:01,250 --> 01:02:03,500\nfim\n"
    )


def test_slice_cues_for_a_short() -> None:
    cues = [Cue(0.0, 1.0, "a"), Cue(1.0, 2.5, "b"), Cue(2.5, 4.0, "c")]
    assert slice_cues(cues, 2.0, 3.0) == [Cue(0.0, 0.5, "b"), Cue(0.5, 1.0, "c")]
