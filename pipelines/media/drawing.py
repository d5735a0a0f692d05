"""Drawing helpers shared by the generated visuals and the thumbnails (Pillow, imported where used): a
palette from a seed, a soft gradient background, and text fitted into a box."""

from __future__ import annotations

import colorsys
import random
from pathlib import Path


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


def fit_text(
    draw, text: str, font_path: Path, max_width: int, max_height: int, start: int, min_size: int = 12
):
    """Largest font size (<= start) at which `text`, word-wrapped, fits the box.

    Returns (font, lines, line_height).
    """
    from PIL import ImageFont

    size = start
    while True:
        font = ImageFont.truetype(str(font_path), size)
        lines = wrap(draw, text, font, max_width)
        line_h = round(size * 1.2)
        widest = max((draw.textlength(line, font=font) for line in lines), default=0)
        if (line_h * len(lines) <= max_height and widest <= max_width) or size <= min_size:
            return font, lines, line_h
        size = max(min_size, int(size * 0.9))


def wrap(draw, text: str, font, max_width: int) -> list[str]:
    """Greedy word wrap by rendered width."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(lines[-1] + " " + word, font=font) <= max_width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
