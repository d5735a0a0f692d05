"""Thumbnail candidates: the same title in different 1280x720 layouts, as JPEG.

Layouts: "overlay" (big title over the darkened image), "split" (image on the left, title on
a solid panel on the right) and "banner" (image with a bold title banner across the bottom).
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines.media.fonts import BOLD
from pipelines.providers.visuals import background, fit_text, palette

log = logging.getLogger(__name__)

SIZE = (1280, 720)
LAYOUTS = ("overlay", "split", "banner")
ACCENT = (255, 204, 0)


def _cover(image_path: Path | None, size: tuple[int, int], seed: int, blur: float):
    """The image scaled and centre-cropped to fill `size` (a generated background if none).

    The blur keeps text that is part of the image (generated title cards) from competing
    with the thumbnail's title.
    """
    from PIL import Image, ImageFilter, ImageOps

    if image_path is None:
        return background(size, seed)
    with Image.open(image_path) as im:
        img = ImageOps.fit(im.convert("RGB"), size, Image.Resampling.LANCZOS)
    return img.filter(ImageFilter.GaussianBlur(blur)) if blur else img


def _draw_title(
    draw, title: str, box: tuple[int, int, int, int], *, start: int, fill, stroke, align: str
) -> None:
    """Wrap and fit `title` into box (left, top, right, bottom), centred vertically."""
    left, top, right, bottom = box
    font, lines, line_h = fit_text(draw, title, BOLD, right - left, bottom - top, start, min_size=18)
    stroke_w = max(2, round(font.size * 0.06)) if stroke else 0
    y = top + (bottom - top - line_h * len(lines)) / 2
    for line in lines:
        width = draw.textlength(line, font=font)
        x = left + (right - left - width) / 2 if align == "center" else left
        draw.text((x, y), line, font=font, fill=fill, stroke_width=stroke_w, stroke_fill=stroke)
        y += line_h


def _overlay(title: str, image: Path | None, seed: int):
    from PIL import ImageDraw, ImageEnhance

    w, h = SIZE
    img = ImageEnhance.Brightness(_cover(image, SIZE, seed, blur=24)).enhance(0.45)
    draw = ImageDraw.Draw(img)
    _draw_title(
        draw,
        title.upper(),
        (60, 60, w - 60, h - 60),
        start=150,
        fill=(255, 255, 255),
        stroke=(0, 0, 0),
        align="center",
    )
    return img


def _split(title: str, image: Path | None, seed: int):
    from PIL import Image, ImageDraw

    w, h = SIZE
    img = Image.new("RGB", SIZE, palette(seed)[0])
    img.paste(_cover(image, (w // 2, h), seed, blur=24), (0, 0))
    draw = ImageDraw.Draw(img)
    draw.rectangle((w // 2, 0, w // 2 + 12, h), fill=ACCENT)
    _draw_title(
        draw,
        title,
        (w // 2 + 50, 50, w - 40, h - 50),
        start=110,
        fill=(255, 255, 255),
        stroke=None,
        align="left",
    )
    return img


def _banner(title: str, image: Path | None, seed: int):
    from PIL import ImageDraw

    w, h = SIZE
    img = _cover(image, SIZE, seed, blur=28)
    draw = ImageDraw.Draw(img)
    top = round(h * 0.58)
    draw.rectangle((0, top, w, h), fill=ACCENT)
    draw.rectangle((0, top - 10, w, top), fill=(0, 0, 0))
    _draw_title(
        draw, title, (40, top + 20, w - 40, h - 20), start=120, fill=(0, 0, 0), stroke=None, align="center"
    )
    return img


_MAKERS = {"overlay": _overlay, "split": _split, "banner": _banner}


def make_thumbnails(title: str, images: list[Path], out_dir: Path, *, n: int = 3) -> list[Path]:
    """Write up to `n` (max len(LAYOUTS)) different 1280x720 JPEG thumbnails; return their paths.

    Each layout uses the next image from `images` (cycling); with no images a generated
    background is used.
    """
    if not 1 <= n <= len(LAYOUTS):
        raise ValueError(f"n must be between 1 and {len(LAYOUTS)}, got {n}")
    title = " ".join(title.split())
    if not title:
        raise ValueError("thumbnail title is empty")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = sum(title.encode("utf-8"))
    paths = []
    for i, layout in enumerate(LAYOUTS[:n]):
        image = Path(images[i % len(images)]) if images else None
        img = _MAKERS[layout](title, image, seed + i)
        path = out_dir / f"thumbnail_{i + 1}_{layout}.jpg"
        img.save(path, "JPEG", quality=90, optimize=True)
        paths.append(path)
        log.info("thumbnail %s (%s)", path.name, layout)
    return paths
