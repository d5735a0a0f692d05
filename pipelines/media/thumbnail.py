"""Thumbnail options: the video's best visuals with its title in the channel's style, 1280x720 JPEG < 2 MB.

The visuals (stills, and a frame from the middle of each clip) are ranked by contrast and detail;
black or blank ones are left out. The best three get one layout each: "overlay" (big title over
the darkened image), "split" (image on the left, title on a solid panel on the right) and "banner"
(image with a bold title banner across the bottom). With no usable visual, a generated background.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from pipelines.config import Style
from pipelines.media.drawing import background, fit_text, palette
from pipelines.media.fonts import BOLD

log = logging.getLogger(__name__)

SIZE = (1280, 720)
LAYOUTS = ("overlay", "split", "banner")
MAX_BYTES = 2_000_000  # YouTube's limit for a custom thumbnail is 2 MB
BLANK_STDDEV = 12  # a visual whose brightness varies less than this (0-255) is blank
DARK_MEAN = 24  # one darker than this on average is black


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def _frame_of(video: Path, out: Path) -> Path | None:
    """A frame from the middle of a clip (None if ffmpeg cannot read it)."""
    from pipelines.media.ffmpeg import FFmpegError, probe, run_ffmpeg

    try:
        middle = probe(video).duration / 2
        run_ffmpeg(
            ["-ss", f"{middle:.3f}", "-i", str(video), "-frames:v", "1", "-q:v", "2", str(out)],
            what=f"taking a thumbnail frame from {video.name}",
        )
    except FFmpegError as e:
        log.warning("thumbnail: no frame from %s: %s", video, e)
        return None
    return out


def score(image: Path) -> float | None:
    """Contrast x detail of an image, or None when it is black, blank or unreadable."""
    from PIL import Image, ImageFilter, ImageStat

    try:
        with Image.open(image) as im:
            gray = im.convert("L").resize((320, 180))
    except OSError:
        return None
    stat = ImageStat.Stat(gray)
    if stat.stddev[0] < BLANK_STDDEV or stat.mean[0] < DARK_MEAN:
        return None
    detail = ImageStat.Stat(gray.filter(ImageFilter.FIND_EDGES)).mean[0]
    return stat.stddev[0] * (1 + detail)


def best_visuals(media: list[Path], work: Path, n: int) -> list[Path]:
    """Up to n distinct visuals, best first (stills as they are, clips by their middle frame)."""
    from pipelines.media.prepare import media_kind

    scored: list[tuple[float, Path]] = []
    for i, path in enumerate(dict.fromkeys(Path(m) for m in media)):
        still = path if media_kind(path) == "image" else _frame_of(path, work / f"frame{i}.jpg")
        if still is None:
            continue
        value = score(still)
        if value is not None:
            scored.append((value, still))
    return [p for _, p in sorted(scored, key=lambda s: -s[0])[:n]]


def _cover(image_path: Path | None, size: tuple[int, int], seed: int, blur: float):
    """The image scaled and centre-cropped to fill `size` (a generated background if none). The blur
    keeps text that is part of the image (generated title cards) from competing with the title."""
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


def _overlay(title: str, image: Path | None, seed: int, style: Style):
    from PIL import ImageDraw, ImageEnhance

    w, h = SIZE
    img = ImageEnhance.Brightness(_cover(image, SIZE, seed, blur=12)).enhance(0.45)
    text = title.upper() if style.title_uppercase else title
    _draw_title(
        ImageDraw.Draw(img),
        text,
        (60, 60, w - 60, h - 60),
        start=150,
        fill=_rgb(style.title_colour),
        stroke=(0, 0, 0),
        align="center",
    )
    return img


def _split(title: str, image: Path | None, seed: int, style: Style):
    from PIL import Image, ImageDraw

    w, h = SIZE
    img = Image.new("RGB", SIZE, palette(seed)[0])
    img.paste(_cover(image, (w // 2, h), seed, blur=0), (0, 0))
    draw = ImageDraw.Draw(img)
    draw.rectangle((w // 2, 0, w // 2 + 12, h), fill=_rgb(style.title_accent))
    _draw_title(
        draw,
        title,
        (w // 2 + 50, 50, w - 40, h - 50),
        start=110,
        fill=_rgb(style.title_colour),
        stroke=None,
        align="left",
    )
    return img


def _banner(title: str, image: Path | None, seed: int, style: Style):
    from PIL import ImageDraw

    w, h = SIZE
    img = _cover(image, SIZE, seed, blur=4)
    draw = ImageDraw.Draw(img)
    top = round(h * 0.58)
    accent = _rgb(style.title_accent)
    draw.rectangle((0, top, w, h), fill=accent)
    draw.rectangle((0, top - 10, w, top), fill=(0, 0, 0))
    ink = (0, 0, 0) if sum(accent) > 382 else (255, 255, 255)  # dark text on a light banner, and back
    _draw_title(draw, title, (40, top + 20, w - 40, h - 20), start=120, fill=ink, stroke=None, align="center")
    return img


_MAKERS = {"overlay": _overlay, "split": _split, "banner": _banner}


def _save(img, path: Path) -> Path:
    for quality in (90, 80, 70, 60):
        img.save(path, "JPEG", quality=quality, optimize=True)
        if path.stat().st_size < MAX_BYTES:
            break
    return path


def make_thumbnails(
    title: str, media: list[Path], out_dir: Path, *, n: int = 3, style: Style | None = None
) -> list[Path]:
    """Write `n` (max len(LAYOUTS)) different 1280x720 JPEG thumbnails from the best of `media` (images or
    clips); return their paths."""
    if not 1 <= n <= len(LAYOUTS):
        raise ValueError(f"n must be between 1 and {len(LAYOUTS)}, got {n}")
    title = " ".join(title.split())
    if not title:
        raise ValueError("thumbnail title is empty")
    style = style or Style()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = sum(title.encode("utf-8"))
    paths = []
    with tempfile.TemporaryDirectory(dir=out_dir) as work:
        best = best_visuals(media, Path(work), n)
        for i, layout in enumerate(LAYOUTS[:n]):
            image = best[i % len(best)] if best else None
            path = _save(
                _MAKERS[layout](title, image, seed + i, style), out_dir / f"thumbnail_{i + 1}_{layout}.jpg"
            )
            paths.append(path)
            log.info(
                "thumbnail %s (%s, from %s)",
                path.name,
                layout,
                image.name if image else "a generated background",
            )
    return paths
