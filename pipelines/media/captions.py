"""Captions from word timings: short cues, written as ASS (burned in by libass) and SRT.

Cue times come straight from the voice's word timings, which is what keeps the captions in
sync with the narration. A cue is held until the next one starts when the gap is short,
so the text does not flicker between cues; cues never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.config import Style
from pipelines.media.align import WordTiming
from pipelines.media.fonts import FAMILY

SENTENCE_END = (".", "!", "?", ";", ":", "…")
PAUSE = 0.35  # seconds of silence between two words that ends a cue
HOLD = 0.6  # a cue stays on screen up to this long after its last word, until the next cue


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def build_cues(words: list[WordTiming], max_chars: int = 32, max_words: int = 6) -> list[Cue]:
    """Group consecutive words into caption lines of at most `max_chars` / `max_words`.

    A line also ends after sentence punctuation and before a pause of PAUSE seconds.
    (A single word longer than max_chars gets a line of its own.)
    """
    groups: list[list[WordTiming]] = []
    current: list[WordTiming] = []
    for word in words:
        if current:
            prev = current[-1]
            length = len(" ".join(w.text for w in current)) + 1 + len(word.text)
            if (
                length > max_chars
                or len(current) >= max_words
                or prev.text.rstrip("\"'”’»)").endswith(SENTENCE_END)
                or word.start - prev.end >= PAUSE
            ):
                groups.append(current)
                current = []
        current.append(word)
    if current:
        groups.append(current)

    cues: list[Cue] = []
    for i, group in enumerate(groups):
        start = group[0].start
        end = group[-1].end  # the last cue ends with the voice
        if i + 1 < len(groups):
            end = min(end + HOLD, groups[i + 1][0].start)
        if cues:
            start = max(start, cues[-1].end)
        end = max(end, start + 0.01)
        cues.append(Cue(round(start, 3), round(end, 3), " ".join(w.text for w in group)))
    return cues


def slice_cues(cues: list[Cue], start: float, end: float) -> list[Cue]:
    """The cues within [start, end), clipped and shifted so `start` becomes 0 (for a Short cut
    out of the long narration: render_video wants subtitles timed relative to its output)."""
    out = []
    for c in cues:
        s, e = max(c.start, start), min(c.end, end)
        if e - s > 0.05:
            out.append(Cue(round(s - start, 3), round(e - start, 3), c.text))
    return out


def _ass_time(t: float) -> str:
    cs = max(0, round(t * 100))
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _srt_time(t: float) -> str:
    ms = max(0, round(t * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def ass_escape(text: str) -> str:
    """Plain text -> ASS dialogue text: braces and backslashes are shown as typed."""
    text = text.replace("\\", "\\\u2060")  # a word joiner stops "\n", "\N", "\h" from being codes
    text = text.replace("{", "\\{").replace("}", "\\}")
    return "\\N".join(line.strip() for line in text.replace("\r\n", "\n").split("\n"))


def ass_style(width: int, height: int, style: Style | None = None) -> dict[str, int]:
    """Font size, outline and margins scaled to the frame and the channel's caption_scale; portrait
    frames get larger text, placed in the lower third (above the Shorts player's own buttons)."""
    scale = style.caption_scale if style else 1.0
    if height > width:
        size = round(width * 0.075 * scale)
        margin_v = round(height * 0.28)
    else:
        size = round(height * 0.06 * scale)
        margin_v = round(height * 0.07)
    return {
        "size": size,
        "outline": max(1, round(size * 0.08)),
        "shadow": max(1, round(size * 0.03)),
        "margin_h": round(width * 0.06),
        "margin_v": margin_v,
    }


ALIGNMENT = {"bottom": 2, "middle": 5, "top": 8}  # ASS numpad positions, centred


def ass_colour(hex_colour: str, alpha: int = 0) -> str:
    """'#RRGGBB' -> ASS '&HAABBGGRR' (alpha 0 = opaque)."""
    r, g, b = hex_colour[1:3], hex_colour[3:5], hex_colour[5:7]
    return f"&H{alpha:02X}{b}{g}{r}".upper()


def write_ass(cues: list[Cue], path: Path, width: int, height: int, style: Style | None = None) -> Path:
    """Write the cues as an ASS file for a width x height video (UTF-8), in the channel's caption style."""
    style = style or Style()
    s = ass_style(width, height, style)
    bold = -1 if style.caption_font.endswith("Bold") else 0
    border = 3 if style.caption_box else 1  # 3: an opaque box (in the outline colour) behind the text
    outline_alpha = 0x40 if style.caption_box else 0
    lines = [
        "[Script Info]",
        "; captions generated by nicheflow from the narration's word timings",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
        "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Default,{FAMILY},{s['size']},{ass_colour(style.caption_colour)},&H000000FF,"
        f"{ass_colour(style.caption_outline_colour, outline_alpha)},&H80000000,{bold},0,0,0,100,100,0,0,"
        f"{border},{s['outline']},{s['shadow']},{ALIGNMENT[style.caption_position]},{s['margin_h']},"
        f"{s['margin_h']},{s['margin_v']},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    for cue in cues:
        lines.append(
            f"Dialogue: 0,{_ass_time(cue.start)},{_ass_time(cue.end)},Default,,0,0,0,,{ass_escape(cue.text)}"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_srt(cues: list[Cue], path: Path) -> Path:
    """Write the cues as SubRip (UTF-8), e.g. to upload as a YouTube caption track."""
    blocks = []
    for i, cue in enumerate(cues, 1):
        text = "\n".join(line.strip() for line in cue.text.splitlines() if line.strip())
        blocks.append(f"{i}\n{_srt_time(cue.start)} --> {_srt_time(cue.end)}\n{text}\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path
