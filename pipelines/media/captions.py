"""Captions from word timings: short cues, written as ASS (burned in by libass) and SRT.

Cue times come straight from the voice's word timings, which is what keeps the captions in
sync with the narration. A cue is held until the next one starts when the gap is short,
so the text does not flicker between cues; cues never overlap.

Two ways to draw them (write_ass's `mode`): "lines", one event per cue; "karaoke", one event per spoken word,
each showing the whole line with that word in the channel's highlight colour, from the moment the word
starts until the next one does (per-word events rather than \\k tags: libass switches whole events exactly
on their start times, and the words around the highlighted one never move). A Short's hook line can be
drawn at the top for its first seconds (`hook`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipelines.config import Style
from pipelines.files import atomic_write_text
from pipelines.media.align import WordTiming
from pipelines.media.fonts import BOLD, FAMILY

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

SENTENCE_END = (".", "!", "?", ";", ":", "…")
PAUSE = 0.35  # seconds of silence between two words that ends a cue
HOLD = 0.6  # a cue stays on screen up to this long after its last word, until the next cue


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str
    words: tuple[WordTiming, ...] = ()  # the timed words the text is made of (empty: spread evenly)


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
        cues.append(Cue(round(start, 3), round(end, 3), " ".join(w.text for w in group), tuple(group)))
    return cues


def slice_cues(cues: list[Cue], start: float, end: float) -> list[Cue]:
    """The cues within [start, end), clipped and shifted so `start` becomes 0 (for a Short cut
    out of the long narration: render_video wants subtitles timed relative to its output)."""
    out = []
    for c in cues:
        s, e = max(c.start, start), min(c.end, end)
        if e - s > 0.05:
            words = tuple(
                WordTiming(
                    w.text, round(min(max(w.start, s), e) - start, 3), round(min(max(w.end, s), e) - start, 3)
                )
                for w in c.words
            )
            out.append(Cue(round(s - start, 3), round(e - start, 3), c.text, words))
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


def _tag_colour(hex_colour: str) -> str:
    """'#RRGGBB' -> the colour as an override tag takes it, '&HBBGGRR&'."""
    r, g, b = hex_colour[1:3], hex_colour[3:5], hex_colour[5:7]
    return f"&H{b}{g}{r}&".upper()


def _units(cue: Cue) -> list[WordTiming]:
    """The pieces of a cue that are highlighted in turn: its timed words, or (a cue made by hand, or words
    that do not spell its text) its space-separated tokens, the cue's time shared by their lengths."""
    if cue.words and " ".join(w.text for w in cue.words) == cue.text:
        return list(cue.words)
    tokens = [t for t in cue.text.split(" ") if t.strip()] or [cue.text]
    total = sum(len(t) + 1 for t in tokens)
    units, t = [], cue.start
    for token in tokens:
        step = (cue.end - cue.start) * (len(token) + 1) / total
        units.append(WordTiming(token, t, t + step))
        t += step
    return units


def _karaoke_events(cue: Cue, highlight: str, colour: str, box: bool) -> list[str]:
    """One Dialogue per word: the whole line, the word in the highlight colour (then back to the caption
    `colour`), from its start (clamped to the cue) until the next word's start; the last word stays lit until
    the cue ends. A word that starts at the same moment as the next (or before the cue) gives no event, so the
    word being spoken at the cue's start is the one lit then.

    With the caption box, libass would draw one box per colour run, and the half-transparent boxes would
    darken where they overlap; so the box is drawn once for the whole cue (layer 0, text invisible) and the
    words on top of it without a box (layer 1): the same text in the same style, so the same layout."""
    units = _units(cue)
    starts = [cue.start] + [min(max(u.start, cue.start), cue.end) for u in units[1:]]
    ends = [*starts[1:], cue.end]
    parts = [ass_escape(u.text) for u in units]
    events, layer, prefix = [], 0, ""
    if box:
        events.append(
            f"Dialogue: 0,{_ass_time(cue.start)},{_ass_time(cue.end)},Default,,0,0,0,,{{\\1a&HFF&}}{' '.join(parts)}"
        )
        layer, prefix = 1, "{\\3a&HFF&\\4a&HFF&}"
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if round(end * 100) <= round(start * 100):  # shorter than the file's centiseconds
            continue
        lit = parts[:i] + [f"{{\\1c{highlight}}}{parts[i]}{{\\1c{colour}}}"] + parts[i + 1 :]
        events.append(
            f"Dialogue: {layer},{_ass_time(start)},{_ass_time(end)},Default,,0,0,0,,{prefix}{' '.join(lit)}"
        )
    return events


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two '#RRGGBB' colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@cache
def _bold_font(ass_size: int) -> FreeTypeFont:
    """The bold font at the size libass draws ASS font size `ass_size` (libass sizes a font by its ascent
    plus descent, Pillow by its em square: DejaVu's ascent + descent is about 1.17 em)."""
    from PIL import ImageFont

    probe = ImageFont.truetype(str(BOLD), 1000)
    ascent, descent = probe.getmetrics()
    return ImageFont.truetype(str(BOLD), max(1, round(ass_size * 1000 / (ascent + descent))))


def _wrap(words: list[str], font: FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap at `width` pixels (a word wider than that gets a line of its own)."""
    lines: list[str] = []
    for word in words:
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _hook_layout(hook: str, width: int, height: int) -> tuple[int, list[str]]:
    """The hook's ASS font size and its lines: as large as allows at most four lines inside the frame's side
    margins (10% of the width in portrait, 8.5% of the height in landscape, down to 70% of that; smaller
    only if one word is wider than the frame), the lines balanced in length."""
    words = hook.split()
    full = round(width * 0.1 if height > width else height * 0.085)
    room = 0.95 * (width - 2 * round(width * 0.06))  # inside the margins, less a little for the box
    for factor in (1.0, 0.9, 0.8, 0.7):
        size = round(full * factor)
        font = _bold_font(size)
        usable = room - 2 * _hook_pad(size)
        lines = _wrap(words, font, usable)
        if len(lines) <= 4 and all(font.getlength(line) <= usable for line in lines):
            break
    longest = max(font.getlength(w) for w in words)
    while longest > usable and size > 8:  # one word wider than the frame: smaller still, until it fits
        size = max(8, int(size * usable / longest))
        font, usable = _bold_font(size), room - 2 * _hook_pad(size)
        lines, longest = _wrap(words, font, usable), max(font.getlength(w) for w in words)
    lo, hi = longest, usable
    while hi - lo > 1:  # the narrowest width that still takes no more lines: lines of even length
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if len(_wrap(words, font, mid)) <= len(lines) else (mid, hi)
    return size, _wrap(words, font, hi) if hi > lo else lines


def _hook_pad(size: int) -> int:
    return max(2, round(size * 0.2))  # the banner's padding around the text (the box "outline")


def _hook_style(hook: str, width: int, height: int, style: Style) -> tuple[str, str]:
    """The Hook style line (bold, the title colour on a banner in the accent colour, in the upper part of the
    frame) and the hook's text, escaped and wrapped."""
    size, lines = _hook_layout(hook, width, height)
    ink = style.title_colour
    if _contrast(ink, style.title_accent) < 3:  # white on yellow: black or white ink, whichever reads
        ink = max(("#000000", "#FFFFFF"), key=lambda c: _contrast(c, style.title_accent))
    alignment = ALIGNMENT["middle" if style.caption_position == "top" else "top"]
    margin_v = round(height * (0.12 if height > width else 0.08))
    line = (
        f"Style: Hook,{FAMILY},{size},{ass_colour(ink)},&H000000FF,{ass_colour(style.title_accent)},&H00000000,"
        f"-1,0,0,0,100,100,0,0,3,{_hook_pad(size)},0,{alignment},{round(width * 0.06)},{round(width * 0.06)},"
        f"{margin_v},1"
    )
    return line, "\\N".join(ass_escape(t) for t in lines)


def write_ass(
    cues: list[Cue],
    path: Path,
    width: int,
    height: int,
    style: Style | None = None,
    *,
    mode: Literal["lines", "karaoke"] = "lines",
    hook: str | None = None,
    hook_seconds: float = 2.0,
) -> Path:
    """Write the cues as an ASS file for a width x height video (UTF-8), in the channel's caption style.

    mode "lines": one event per cue. "karaoke": one event per word, the line with the word being spoken in
    style.caption_highlight_colour (see the module docstring). `hook`: a line drawn big in the upper part of
    the frame for the first `hook_seconds` (bold, in the channel's title colours; wrapped to the width).
    """
    if mode not in ("lines", "karaoke"):
        raise ValueError(f"caption mode {mode!r}: use 'lines' or 'karaoke'")
    hook = " ".join(hook.split()) if hook else None
    if hook and hook_seconds <= 0:
        raise ValueError(f"hook_seconds must be positive, not {hook_seconds}")
    style = style or Style()
    s = ass_style(width, height, style)
    bold = -1 if style.caption_font.endswith("Bold") else 0
    border = 3 if style.caption_box else 1  # 3: an opaque box (in the outline colour) behind the text
    outline_alpha = 0x40 if style.caption_box else 0
    hook_style, hook_text = _hook_style(hook, width, height, style) if hook else ("", "")
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
        *([hook_style] if hook else []),
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    if hook:
        lines.append(f"Dialogue: 2,{_ass_time(0)},{_ass_time(hook_seconds)},Hook,,0,0,0,,{hook_text}")
    highlight, normal = _tag_colour(style.caption_highlight_colour), _tag_colour(style.caption_colour)
    for cue in cues:
        if mode == "karaoke":
            lines.extend(_karaoke_events(cue, highlight, normal, style.caption_box))
        else:
            lines.append(
                f"Dialogue: 0,{_ass_time(cue.start)},{_ass_time(cue.end)},Default,,0,0,0,,{ass_escape(cue.text)}"
            )
    return atomic_write_text(path, "\n".join(lines) + "\n")  # a killed task leaves no half file


def write_srt(cues: list[Cue], path: Path) -> Path:
    """Write the cues as SubRip (UTF-8), e.g. to upload as a YouTube caption track."""
    blocks = []
    for i, cue in enumerate(cues, 1):
        text = "\n".join(line.strip() for line in cue.text.splitlines() if line.strip())
        blocks.append(f"{i}\n{_srt_time(cue.start)} --> {_srt_time(cue.end)}\n{text}\n")
    return atomic_write_text(path, "\n".join(blocks))  # a killed task leaves no half file
