"""Offline b-roll: generated title cards, labelled as what they are.

No stock footage is fetched and nothing pretends to be a photo: each image is an abstract
gradient composition (palette from the seed) with the scene's heading, a few keywords and a
small "Generated illustration" label in the corner.
"""

from __future__ import annotations

import colorsys
import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.media.fonts import BOLD, REGULAR

log = logging.getLogger(__name__)

LABEL = "Generated illustration"
LABEL_INSET = 0.07  # fraction of the width/height; more than the renderer's pan margin
STOPWORDS = set(
    """a an and are as at be but by for from has have in into is it its of on or that the their this to
    was were which with will not more most can also than then they them these those such about over
    because been when where what there here very just only some other after before while would could
    should your you our who how why each many much made make does did
    o os as um uma uns umas e de do da dos das em no na nos nas por para com que se ao aos foi era
    são é mais como sua seu suas seus pelo pela pelos pelas entre sobre também muito ou mas""".split()
)


@dataclass(frozen=True)
class Visual:
    path: Path
    source: str
    licence: str
    attribution: str
    description: str


def keywords(text: str, n: int = 4) -> list[str]:
    """The n most frequent non-trivial words of `text` (ties: first seen), as written."""
    counts: dict[str, int] = {}
    shown: dict[str, str] = {}
    for word in re.findall(r"[^\W\d_][\w'’-]*", text):
        key = word.lower()
        if key in STOPWORDS or len(key) < 4:
            continue
        counts[key] = counts.get(key, 0) + 1
        shown.setdefault(key, word)
    ranked = sorted(counts, key=lambda k: -counts[k])  # stable: ties keep first-seen order
    return [shown[k] for k in ranked[:n]]


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
        r = rng.uniform(0.15, 0.4) * small[1]
        x, y = rng.uniform(0, small[0]), rng.uniform(0, small[1])
        draw.ellipse((x - r, y - r, x + r, y + r), fill=c2)
    glow = glow.filter(ImageFilter.GaussianBlur(small[1] / 10))
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


class GeneratedVisuals:
    name = "generated"

    def make(
        self, heading: str, text: str, out_path: Path, *, size: tuple[int, int] = (1920, 1080), seed: int
    ) -> Visual:
        """Draw one illustration for a scene and save it as PNG."""
        from PIL import ImageDraw, ImageFont

        w, h = size
        img = background(size, seed)
        draw = ImageDraw.Draw(img)
        margin = round(min(w, h) * 0.08)
        heading = " ".join(heading.split()) or " "
        font, lines, line_h = fit_text(draw, heading, BOLD, w - 2 * margin, round(h * 0.45), round(h * 0.11))
        words = keywords(text)
        small = ImageFont.truetype(str(REGULAR), max(10, round(h * 0.035)))
        kw_line = "  ·  ".join(words)
        while words and draw.textlength(kw_line, font=small) > w - 2 * margin:
            words.pop()
            kw_line = "  ·  ".join(words)
        block_h = line_h * len(lines) + (round(h * 0.08) if kw_line else 0)
        y = (h - block_h) / 2
        shadow = max(1, round(font.size * 0.04))
        for line in lines:
            x = (w - draw.textlength(line, font=font)) / 2
            draw.text((x + shadow, y + shadow), line, font=font, fill=(0, 0, 0))
            draw.text((x, y), line, font=font, fill=(255, 255, 255))
            y += line_h
        if kw_line:
            y += round(h * 0.08) - small.size * 1.2
            x = (w - draw.textlength(kw_line, font=small)) / 2
            draw.text((x, y), kw_line, font=small, fill=(235, 235, 235))
        label_font = ImageFont.truetype(str(REGULAR), max(9, round(h * 0.022)))
        # Top right, inset enough to stay in frame while the renderer pans over the image.
        lw = draw.textlength(LABEL, font=label_font)
        draw.text(
            (w - round(w * LABEL_INSET) - lw, round(h * LABEL_INSET)),
            LABEL,
            font=label_font,
            fill=(255, 255, 255),
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )

        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        img.save(out_path, "PNG", optimize=False, compress_level=3)
        log.info("generated visual %s (%dx%d, seed %d)", out_path.name, w, h, seed)
        return Visual(
            path=out_path,
            source="generated by nicheflow (offline)",
            licence="CC0 (generated)",
            attribution="nicheflow generated illustration",
            description=f"Generated abstract illustration with the text: {heading}"
            + (f" ({', '.join(words)})" if words else ""),
        )
