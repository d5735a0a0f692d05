"""Captions: cues from real espeak timings, and an ASS file that libass really draws."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from pipelines.media.align import WordTiming
from pipelines.media.captions import Cue, build_cues, slice_cues, write_ass, write_srt
from pipelines.media.ffmpeg import run_ffmpeg
from pipelines.media.fonts import FONTS_DIR
from pipelines.media.render import escape_filter_path
from pipelines.providers.tts.espeak import EspeakTTS

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


def _events(ass: Path) -> list[tuple[float, float, str]]:
    """(start, end, text) of every Dialogue line, read back from the file."""

    def seconds(stamp: str) -> float:
        h, m, s = stamp.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    out = []
    for line in ass.read_text(encoding="utf-8").splitlines():
        if line.startswith("Dialogue:"):
            fields = line.split(",", 9)
            out.append((seconds(fields[1]), seconds(fields[2]), fields[9]))
    return out


def test_ass_events_start_within_80_ms_of_their_words(words: list[WordTiming], tmp_path: Path) -> None:
    cues = build_cues(words)
    events = _events(write_ass(cues, tmp_path / "c.ass", 1920, 1080))
    assert [e[2] for e in events] == [c.text for c in cues]
    first_words = []
    i = 0
    for cue in cues:  # the word each cue starts with (espeak may time "of the" as one word)
        first_words.append(words[i])
        n = 1
        while " ".join(w.text for w in words[i : i + n]) != cue.text:
            n += 1
        i += n
    for (start, end, _), word in zip(events, first_words, strict=True):
        assert abs(start - word.start) <= 0.08
        assert end > start


def _grey_still(path: Path, size: tuple[int, int], grey: int = 90) -> Path:
    from PIL import Image

    Image.new("RGB", size, (grey, grey, grey)).save(path)
    return path


def _caption_band(video: Path, size: tuple[int, int], folder: Path) -> list[bytes]:
    """Every frame's lower half, as grey bytes."""
    w, h = size
    raw = folder / "band.raw"
    run_ffmpeg(["-i", str(video), "-vf", f"crop={w}:{h // 2}:0:{h // 2}", "-f", "rawvideo", "-pix_fmt", "gray",
                str(raw)], what="decoding the caption band")  # fmt: skip
    data, n = raw.read_bytes(), w * (h // 2)
    return [data[i : i + n] for i in range(0, len(data), n)]


def test_burned_captions_change_when_the_words_are_spoken(words: list[WordTiming], tmp_path: Path) -> None:
    from pipelines.media.render import Scene, render_video

    size, fps = (320, 180), 30
    cues = build_cues(words)
    ass = write_ass(cues, tmp_path / "c.ass", *size)
    audio = tmp_path / "audio.wav"
    EspeakTTS("en-us").synthesize(TEXT, audio)
    out = tmp_path / "captions.mp4"
    render_video(
        [Scene(_grey_still(tmp_path / "g.png", size), 0, 60)],
        audio,
        out,
        size=size,
        fps=fps,
        subtitles=ass,
        crossfade=0,
    )
    band = _caption_band(out, size, tmp_path)
    changes = [
        f
        for f in range(1, len(band))
        if sum(abs(a - b) for a, b in zip(band[f], band[f - 1], strict=True)) / len(band[f]) > 0.5
    ]
    assert changes
    for cue in cues[1:]:  # the first cue is on screen from the first frame
        nearest = min(changes, key=lambda f: abs(f / fps - cue.start))
        assert abs(nearest / fps - cue.start) <= 0.08, f"{cue.text!r} appears at {nearest / fps:.3f} s"
    cue_frames = {round(c.start * fps) for c in cues} | {round(c.end * fps) for c in cues}
    assert all(min(abs(f - g) for g in cue_frames) <= 2 for f in changes)  # and nothing changes in between


def _render_cue(text: str, folder: Path, size: tuple[int, int] = (320, 180), style=None) -> Path:
    """One cue, burned by the renderer over a black still; returns a frame grabbed at 0.5 s."""
    from PIL import Image

    from pipelines.media.render import Scene, render_video

    black = folder / "black.png"
    Image.new("RGB", size).save(black)
    audio = folder / "silence.wav"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "1", str(audio)], what="making silence"
    )
    ass = write_ass([Cue(0.0, 1.0, text)], folder / "cue.ass", *size, style)
    video = folder / "cue.mp4"
    render_video([Scene(black, 0, 1)], audio, video, size=size, subtitles=ass, crossfade=0)
    frame = folder / "cue.png"
    run_ffmpeg(["-ss", "0.5", "-i", str(video), "-frames:v", "1", str(frame)], what="grabbing a frame")
    return frame


def test_accents_and_metacharacters_render(tmp_path: Path) -> None:
    from PIL import Image, ImageChops

    text = "Olá: it's 100% {não}, a\\b ç ã é"
    size = (640, 360)
    frame = _render_cue(text, tmp_path, size)
    assert "{" not in _events(tmp_path / "cue.ass")[0][2].replace("\\{", "")  # braces are shown, not codes
    assert _bright_fraction(frame, (0, 180, 640, 360)) > 0.003  # visible
    (tmp_path / "plain").mkdir()
    plain = _render_cue("Ola: it's 100% {nao}, a\\b c a e", tmp_path / "plain", size)
    with Image.open(frame) as a, Image.open(plain) as b:  # the accents are drawn, not dropped
        diff = ImageChops.difference(a.convert("L"), b.convert("L")).crop((0, 180, 640, 360))
    assert diff.getbbox() is not None and sum(diff.histogram()[100:]) > 20


def test_channel_style_places_and_colours_the_captions(tmp_path: Path) -> None:
    from PIL import Image

    from pipelines.config import Style

    style = Style(caption_position="top", caption_colour="#FFFF00", caption_scale=1.5)
    frame = _render_cue("Yellow on top", tmp_path, style=style)
    with Image.open(frame) as im:
        rgb = im.convert("RGB")
    top = [p for p in rgb.crop((0, 0, 320, 60)).getdata() if p[0] > 200 and p[1] > 200]
    bottom = [p for p in rgb.crop((0, 120, 320, 180)).getdata() if p[0] > 200]
    assert len(top) > 100 and not bottom
    assert sum(p[2] for p in top) / len(top) < 120  # yellow, not white
    text = (tmp_path / "cue.ass").read_text(encoding="utf-8")
    assert "&H0000FFFF" in text and ",8," in text  # PrimaryColour and Alignment 8 (top centre)


# --- karaoke (the word being spoken highlighted) and the Shorts hook ---------------------------------------


def _burn(
    ass: Path, size: tuple[int, int], folder: Path, seconds: float, audio: Path | None = None, grey: int = 90
) -> Path:
    """The captions burned by the renderer over a grey still (with `audio`, or silence of `seconds`)."""
    from pipelines.media.render import Scene, render_video

    if audio is None:
        audio = folder / "silence.wav"
        run_ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", f"{seconds}", str(audio)],
                   what="making silence")  # fmt: skip
    video = folder / f"{ass.stem}.mp4"
    render_video([Scene(_grey_still(folder / "g.png", size, grey), 0, seconds)], audio, video, size=size, fps=30,
                 subtitles=ass, crossfade=0)  # fmt: skip
    return video


def _rgb_frames(video: Path, box: tuple[int, int, int, int], folder: Path):
    """Every frame's (left, top, right, bottom) box as an array of frames x rows x columns x RGB."""
    import numpy as np

    left, top, right, bottom = box
    raw = folder / f"{video.stem}-{top}.raw"
    run_ffmpeg(["-i", str(video), "-vf", f"crop={right - left}:{bottom - top}:{left}:{top}", "-f", "rawvideo",
                "-pix_fmt", "rgb24", str(raw)], what="decoding frames")  # fmt: skip
    return np.fromfile(raw, np.uint8).reshape(-1, bottom - top, right - left, 3).astype(np.int16)


def _near(frames, colour: str, tolerance: int = 45):
    """Per pixel: is it (close to) the '#RRGGBB' colour."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return (abs(frames - rgb) < tolerance).all(axis=-1)


def _highlighted(frames):
    """Per pixel: is it the default highlight's yellow (#FFCC00), not the white, grey or black around it."""
    r, g, b = frames[..., 0], frames[..., 1], frames[..., 2]
    return (r > 140) & (g > 0.65 * r) & (2 * b < g)


def test_karaoke_events_light_each_word_from_its_start(words: list[WordTiming], tmp_path: Path) -> None:
    cues = build_cues(words)
    events = _events(write_ass(cues, tmp_path / "k.ass", 1920, 1080, mode="karaoke"))
    lit = [e for e in events if "\\1c&H00CCFF&" in e[2]]
    assert len(lit) == len(events) == len(words)  # one event per timed word, each lighting one word
    for (start, end, text), word in zip(events, words, strict=True):
        assert abs(start - word.start) <= 0.08 and end > start
        assert f"{{\\1c&H00CCFF&}}{word.text}{{\\1c&HFFFFFF&}}" in text
    for cue in cues:  # each event shows the whole line; a line's events follow on without gaps
        mine = [e for e in events if cue.start - 0.005 <= e[0] < cue.end - 0.005]
        assert {e[2].replace("{\\1c&H00CCFF&}", "").replace("{\\1c&HFFFFFF&}", "") for e in mine} == {
            cue.text
        }
        assert all(a[1] == b[0] for a, b in pairwise(mine))
        assert mine[0][0] == pytest.approx(cue.start, abs=0.005) and mine[-1][1] == pytest.approx(
            cue.end, abs=0.005
        )


def test_lines_mode_is_what_it_was(words: list[WordTiming], tmp_path: Path) -> None:
    from pipelines.config import Style

    cues = build_cues(words)
    default = write_ass(cues, tmp_path / "a.ass", 640, 360).read_bytes()
    assert write_ass(cues, tmp_path / "b.ass", 640, 360, Style(), mode="lines").read_bytes() == default
    untimed = [Cue(c.start, c.end, c.text) for c in cues]  # the word timings a cue carries change nothing
    assert write_ass(untimed, tmp_path / "c.ass", 640, 360).read_bytes() == default
    assert b"\\1c" not in default and b"Hook" not in default
    with pytest.raises(ValueError, match="karaoke"):
        write_ass(cues, tmp_path / "d.ass", 640, 360, mode="words")  # type: ignore[arg-type]


def test_karaoke_highlight_follows_the_voice_on_rendered_frames(
    words: list[WordTiming], tmp_path: Path
) -> None:
    import numpy as np

    size, fps = (512, 288), 30
    cues = build_cues(words)
    ass = write_ass(cues, tmp_path / "karaoke.ass", *size, mode="karaoke")
    audio = tmp_path / "audio.wav"
    EspeakTTS("en-us").synthesize(TEXT, audio)
    band = _rgb_frames(_burn(ass, size, tmp_path, 60, audio), (0, 144, 512, 288), tmp_path)
    lit = _highlighted(band)
    on = [f for f in range(len(lit)) if f / fps < cues[-1].end - 0.04]
    assert all(lit[f].sum() > 20 for f in on)  # a word is lit whenever a line is on screen
    changes = [f for f in range(1, len(lit)) if (lit[f] != lit[f - 1]).sum() > 30]
    for word in words[1:]:
        nearest = min(changes, key=lambda f: abs(f / fps - word.start))
        assert abs(nearest / fps - word.start) <= 0.08, f"{word.text!r} lit at {nearest / fps:.3f} s"
    boundaries = [w.start for w in words] + [c.end for c in cues]
    assert all(min(abs(f / fps - t) for t in boundaries) <= 0.07 for f in changes)  # nothing else changes
    for cue in cues:  # along the line, left to right: the highlight is the word being spoken
        spoken = [w for w in words if cue.start <= w.start < cue.end]
        centres = []
        for i, w in enumerate(spoken):
            until = spoken[i + 1].start if i + 1 < len(spoken) else cue.end
            f = round((w.start + until) / 2 * fps)
            centres.append(np.nonzero(lit[f])[1].mean())
            white = (band[f] > 200).all(axis=-1).sum()
            assert len(spoken) == 1 or white > 20  # the rest of the line stays in the caption colour
        assert all(a < b for a, b in pairwise(centres)), cue.text


def test_hook_is_on_screen_for_its_first_two_seconds(tmp_path: Path) -> None:
    import numpy as np

    from pipelines.config import Style

    size, fps = (288, 512), 30
    style = Style(title_colour="#FFFFFF", title_accent="#C0392B")
    hook = "Em 1906, Santos-Dumont voou com o 14-bis diante de uma multidão em Paris"
    cue = Cue(0.0, 3.0, "o primeiro voo", (WordTiming("o", 0, 0.5), WordTiming("primeiro", 0.5, 1.5),
                                          WordTiming("voo", 1.5, 3.0)))  # fmt: skip
    ass = write_ass([cue], tmp_path / "hook.ass", *size, style, mode="karaoke", hook=hook)
    assert "Hook" in ass.read_text(encoding="utf-8")
    top = _rgb_frames(_burn(ass, size, tmp_path, 3.0), (0, 0, 288, 256), tmp_path)
    banner = _near(top, "#C0392B")
    shown = [f for f in range(len(top)) if banner[f].sum() > 500]
    assert shown and shown == list(range(len(shown)))  # from the first frame...
    assert abs(len(shown) / fps - 2.0) <= 0.08  # ...until 2 s, then gone
    assert all(banner[f].sum() == 0 for f in range(len(shown), len(top)))
    rows, cols = np.nonzero(banner[0])
    assert cols.min() >= 288 * 0.03 and cols.max() <= 288 * 0.97  # wrapped inside the frame, with a margin
    hook_style = next(
        line for line in ass.read_text(encoding="utf-8").splitlines() if line.startswith("Style: Hook")
    )
    n = 1 + next(e[2] for e in _events(ass) if "Santos" in e[2]).count("\\N")
    assert n >= 2 and rows.max() - rows.min() > n * int(hook_style.split(",")[2])  # on n lines, as wrapped
    ink = (top[0] > 200).all(axis=-1)[rows.min() : rows.max(), cols.min() : cols.max()]
    assert ink.sum() > 300  # in the channel's title colour, on the accent banner
    assert not _highlighted(top).any()  # and the captions stay below it


def test_karaoke_and_hook_draw_portuguese_accents(tmp_path: Path) -> None:
    import numpy as np

    from pipelines.config import Style

    style = Style(title_accent="#C0392B")
    size = (640, 360)

    def heights(line: str, hook: str, folder: Path) -> tuple[int, int]:
        """Rows spanned by the lit second word, and by the hook's ink, on a frame at 0.5 s."""
        folder.mkdir()
        texts = line.split()
        timed = tuple(WordTiming(t, 0.2 * i, 0.2 * (i + 1)) for i, t in enumerate(texts))
        cue = Cue(0.0, 1.0, line, (timed[0], WordTiming(texts[1], 0.2, 0.9), *timed[2:]))
        ass = write_ass([cue], folder / "pt.ass", *size, style, mode="karaoke", hook=hook)
        frame = _rgb_frames(_burn(ass, size, folder, 1.0), (0, 0, 640, 360), folder)[15]
        lit_rows = np.nonzero(_highlighted(frame[180:]))[0]
        banner = np.nonzero(_near(frame[:180], "#C0392B"))
        box = frame[: banner[0].max(), banner[1].min() : banner[1].max()]
        ink_rows = np.nonzero((box > 200).all(axis=-1))[0]
        return lit_rows.max() - lit_rows.min(), ink_rows.max() - ink_rows.min()

    accented = heights("A ação não é fácil", "AÇÃO!", tmp_path / "pt")
    plain = heights("A acao nao e facil", "ACAO!", tmp_path / "plain")
    assert accented[0] >= plain[0] + 4  # the lit "ação": its tilde above and cedilla below
    assert accented[1] >= plain[1] + 4  # the hook's "AÇÃO"


def test_karaoke_after_slicing_and_in_the_channel_colour(words: list[WordTiming], tmp_path: Path) -> None:
    from pydantic import ValidationError

    from pipelines.config import Style

    start = words[5].start  # a Short cut out of the narration: its words keep their times, shifted
    cues = slice_cues(build_cues(words), start, words[-1].end)
    ass = write_ass(
        cues, tmp_path / "s.ass", 1080, 1920, Style(caption_highlight_colour="#00ff66"), mode="karaoke"
    )
    events = _events(ass)
    spoken = [w for w in words if w.start >= start]
    assert len(events) >= len(spoken) and all("{\\1c&H66FF00&}" in e[2] for e in events)
    for word in spoken:
        lit = next(
            e
            for e in events
            if f"{{\\1c&H66FF00&}}{word.text}{{\\1c&HFFFFFF&}}" in e[2] and e[0] >= word.start - start - 0.08
        )
        assert abs(lit[0] - (word.start - start)) <= 0.08
    with pytest.raises(ValidationError, match="caption_highlight_colour"):
        Style(caption_highlight_colour="yellow")


def test_karaoke_in_a_caption_box_draws_one_even_box(tmp_path: Path) -> None:
    import numpy as np

    from pipelines.config import Style

    size = (640, 360)
    cue = Cue(0.0, 1.0, "uma caixa sem emendas", (WordTiming("uma", 0, 0.3), WordTiming("caixa", 0.3, 0.7),
                                                  WordTiming("sem", 0.7, 0.8), WordTiming("emendas", 0.8, 1)))  # fmt: skip
    ass = write_ass([cue], tmp_path / "box.ass", *size, Style(caption_box=True), mode="karaoke")
    frame = _rgb_frames(_burn(ass, size, tmp_path, 1.0, grey=210), (0, 180, 640, 360), tmp_path)[15]  # 0.5 s
    dark = frame.max(axis=-1) < 120  # the box (text is white or yellow, the background light grey)
    rows, cols = np.nonzero(dark)
    box = frame[rows.min() + 2 : rows.max() - 1, cols.min() + 2 : cols.max() - 1].max(axis=-1)
    level = int(np.median(box[box < 120]))
    assert _highlighted(frame).sum() > 30  # "caixa" lit
    assert (box < level - 12).sum() < 10  # no darker seam where the lit word's box would overlap the line's
