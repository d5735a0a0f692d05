"""Drawing helpers shared by the generated visuals and the thumbnails (Pillow, imported where used): a
palette from a seed, a soft gradient background, and text fitted into a box.

Text is measured by its ink (Pillow's textbbox, the stroke included), with the font it is drawn in: the
largest size at which the word-wrapped text fits the box is used. Words are broken (with a hyphen) only
when the text does not fit at the smallest size asked for, and then the size keeps shrinking until it
fits: fitted text never leaves its box."""

from __future__ import annotations

import colorsys
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def palette(seed: int) -> list[tuple[int, int, int]]:
    """Three harmonious colours (analogous hues) from the seed; dark enough for white text."""
    rng = random.Random(seed)
    hue = rng.random()
    cols = []
    for shift, light in ((0.0, 0.22), (rng.uniform(0.08, 0.16), 0.34), (rng.uniform(-0.16, -0.08), 0.45)):
        r, g, b = colorsys.hls_to_rgb((hue + shift) % 1.0, light, rng.uniform(0.45, 0.75))
        cols.append((round(r * 255), round(g * 255), round(b * 255)))
    return cols


def background(size: tuple[int, int], seed: int):
    """A soft diagonal gradient with a few blurred glows, drawn small and scaled up."""
    from PIL import Image, ImageDraw, ImageFilter, ImageOps

    rng = random.Random(seed * 7919 + 1)
    c0, c1, c2 = palette(seed)
    small = (max(8, size[0] // 8), max(8, size[1] // 8))
    side = 2 * max(small)  # rotate a larger gradient, then keep its middle: no empty corners
    mask = Image.linear_gradient("L").resize((side, side)).rotate(rng.uniform(20, 160))
    left, top = (side - small[0]) // 2, (side - small[1]) // 2
    mask = ImageOps.autocontrast(mask.crop((left, top, left + small[0], top + small[1])))
    img = Image.composite(Image.new("RGB", small, c1), Image.new("RGB", small, c0), mask)
    glow = Image.new("RGB", small, (0, 0, 0))
    draw = ImageDraw.Draw(glow)
    for _ in range(rng.randint(3, 5)):
        r = rng.uniform(0.15, 0.4) * min(
            small
        )  # the height of a landscape picture, the width of a portrait one
        x, y = rng.uniform(0, small[0]), rng.uniform(0, small[1])
        draw.ellipse((x - r, y - r, x + r, y + r), fill=c2)
    glow = glow.filter(ImageFilter.GaussianBlur(min(small) / 10))
    img = Image.blend(
        img, Image.composite(glow, img, glow.convert("L").point(lambda v: min(255, v * 2))), 0.7
    )
    return img.resize(size, Image.Resampling.BICUBIC)


Box = tuple[int, int, int, int]  # left, top, right, bottom (pixels; right and bottom exclusive)


@dataclass(frozen=True)
class TextBlock:
    """Text fitted into a box and placed: its font and stroke width, its lines, where each is drawn (the
    top left of Pillow's default "la" anchor) and `bbox`, the box its ink covers (stroke included)."""

    font: Any  # PIL.ImageFont.FreeTypeFont
    stroke: int
    lines: tuple[str, ...]
    origins: tuple[tuple[int, int], ...]
    line_height: int
    bbox: Box
    broken: bool  # a word wider than the box had to be broken

    def draw(self, draw, fill, stroke_fill=None) -> None:
        """Draw the lines with `draw` (a PIL.ImageDraw.Draw) in `fill`, outlined in `stroke_fill`."""
        for line, xy in zip(self.lines, self.origins, strict=True):
            draw.text(
                xy,
                line,
                font=self.font,
                fill=fill,
                stroke_width=self.stroke,
                stroke_fill=stroke_fill if self.stroke else None,
            )


def _ink(draw, text: str, font, stroke: int) -> Box:
    """The box `text` drawn at (0, 0) covers, stroke included."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=stroke)
    return int(left), int(top), int(right), int(bottom)


def _width(draw, text: str, font, stroke: int) -> int:
    left, _, right, _ = _ink(draw, text, font, stroke)
    return right - left


def _break_word(draw, word: str, font, max_width: int, stroke: int) -> list[str]:
    """`word` in as few pieces as fit max_width, of about equal length, all but the last ending in a
    hyphen (at least one letter a piece, so even a box narrower than a letter gets an answer)."""
    pieces, rest = [], word
    while _width(draw, rest, font, stroke) > max_width and len(rest) > 1:  # greedy: the fewest pieces
        cut = 1
        while cut + 1 < len(rest) and _width(draw, rest[: cut + 1] + "-", font, stroke) <= max_width:
            cut += 1
        pieces.append(rest[:cut] + "-")
        rest = rest[cut:]
    n = len(pieces) + 1
    step = -(-len(word) // n)  # the same number of pieces, evened out, when they fit
    even = [word[i : i + step] + "-" for i in range(0, len(word), step)]
    even[-1] = even[-1][:-1]
    if len(even) == n and all(_width(draw, piece, font, stroke) <= max_width for piece in even):
        return even
    return [*pieces, rest]


def wrap(draw, text: str, font, max_width: int, *, stroke: int = 0, break_words: bool = False) -> list[str]:
    """Greedy word wrap by the ink's width (with a `stroke`-pixel outline). A word wider than max_width is
    broken with hyphens when `break_words`, else it stays whole on its own line (wider than max_width)."""
    lines: list[str] = []
    for word in text.split():
        if lines and _width(draw, lines[-1] + " " + word, font, stroke) <= max_width:
            lines[-1] += " " + word
        elif break_words and _width(draw, word, font, stroke) > max_width:
            lines.extend(_break_word(draw, word, font, max_width, stroke))
        else:
            lines.append(word)
    return lines


def _sizes(start: int, min_size: int) -> Iterator[tuple[int, bool]]:
    """(size, break_words) to try, largest first: whole words from `start` down to min_size (about 4 % a
    step), then, as a last resort, broken words from min_size down to 1 pixel."""
    size = start
    while size > min_size:
        yield size, False
        size -= max(1, round(size * 0.04))
    size = min(start, min_size)
    yield size, False
    for smaller in range(size, 0, -1):
        yield smaller, True


def _place(draw, lines: list[str], font, stroke: int, line_h: int, box: Box, align: str) -> tuple[list, Box]:
    """Where each line goes so that the block's ink is centred vertically in box and each line centred
    (or flush left) in it; returns the origins and the block's ink box."""
    left, top, right, bottom = box
    inks = [_ink(draw, line, font, stroke) for line in lines]
    ink_top = min(k * line_h + ink[1] for k, ink in enumerate(inks))
    ink_bottom = max(k * line_h + ink[3] for k, ink in enumerate(inks))
    y0 = top + (bottom - top - (ink_bottom - ink_top)) // 2 - ink_top
    origins = []
    for k, (ink_l, _, ink_r, _) in enumerate(inks):
        x = left + (right - left - (ink_r - ink_l)) // 2 if align == "center" else left
        origins.append((x - ink_l, y0 + k * line_h))
    xs = [x + ink[0] for (x, _), ink in zip(origins, inks, strict=True)]
    xe = [x + ink[2] for (x, _), ink in zip(origins, inks, strict=True)]
    return origins, (min(xs), y0 + ink_top, max(xe), y0 + ink_bottom)


def layout_text(
    draw,
    text: str,
    font_path: Path,
    box: Box,
    start: int,
    *,
    min_size: int = 12,
    stroke_ratio: float = 0.0,
    align: str = "center",
    spacing: float = 1.2,
) -> TextBlock:
    """`text` word-wrapped at the largest font size (<= start) whose ink (outlined `stroke_ratio` of the
    size, at least 1 pixel when given) fits `box`, lines `spacing` sizes apart, the block centred
    vertically and each line centred or flush left (`align` "center" or "left"). A word is broken only
    when whole words do not fit even at min_size (see the module's note). ValueError when the box cannot
    hold a letter."""
    from PIL import ImageFont

    left, top, right, bottom = box
    text = " ".join(text.split())
    if not text:
        raise ValueError("no text to lay out")
    for size, break_words in _sizes(start, min_size):
        font = ImageFont.truetype(str(font_path), size)
        stroke = max(1, round(size * stroke_ratio)) if stroke_ratio else 0
        lines = wrap(draw, text, font, right - left, stroke=stroke, break_words=break_words)
        line_h = max(1, round(size * spacing))
        origins, ink = _place(draw, lines, font, stroke, line_h, box, align)
        if ink[0] >= left and ink[2] <= right and ink[1] >= top and ink[3] <= bottom:
            broken = break_words and lines != wrap(draw, text, font, right - left, stroke=stroke)
            return TextBlock(font, stroke, tuple(lines), tuple(origins), line_h, ink, broken)
    raise ValueError(f"a {right - left}x{bottom - top} box cannot hold the text {text[:40]!r}")


def fit_text(
    draw, text: str, font_path: Path, max_width: int, max_height: int, start: int, min_size: int = 12
):
    """Largest font size (<= start) at which `text`, word-wrapped, fits a max_width x max_height box (see
    layout_text: a word is broken only when whole words do not fit at min_size, and the size then goes
    below it as needed).

    Returns (font, lines, line_height).
    """
    block = layout_text(draw, text, font_path, (0, 0, max_width, max_height), start, min_size=min_size)
    return block.font, list(block.lines), block.line_height
