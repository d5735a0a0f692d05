"""Thumbnail options: the video's best visuals with its title in the channel's style, 1280x720 JPEG < 2 MB.

The visuals (stills, and a frame from the middle of each clip) are ranked by contrast and detail;
black or blank ones are left out, and the final stage passes only found ones (`backgrounds`: never a
generated card, such as the closing "sources are in the description" one). The best three get one
layout each: "overlay" (big title over the darkened image), "split" (image on the left, title on a solid
panel on the right) and "banner" (image with a bold title banner across the bottom). With no usable
visual, a generated background.

The title is always whole: each layout has a box for it (`title_box`, at least MARGIN from every edge of
the frame) and the title is set at the largest size whose ink fits it (pipelines.media.drawing.layout_text:
shrunk down to MIN_SIZE, a word too long even then broken, smaller still if need be).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pipelines.config import Style
from pipelines.files import atomic_write_bytes
from pipelines.media.drawing import Box, TextBlock, background, layout_text, palette
from pipelines.media.fonts import BOLD

log = logging.getLogger(__name__)

SIZE = (1280, 720)
LAYOUTS = ("overlay", "split", "banner")
MAX_BYTES = 2_000_000  # YouTube's limit for a custom thumbnail is 2 MB
BLANK_STDDEV = 12  # a visual whose brightness varies less than this (0-255) is blank
DARK_MEAN = 24  # one darker than this on average is black
MARGIN = round(SIZE[0] * 0.045)  # the least room between the title's ink and the frame's edges
MIN_SIZE = 40  # px: the title shrinks to this before a word is broken (then further, until it fits)
STRIPE = 12  # px: the accent stripe between the split layout's image and its panel
BANNER_TOP = round(SIZE[1] * 0.58)
GENERATED = "generated"  # the source of generated b-roll (pipelines.providers.broll.generated.SOURCE)


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

    from pipelines.media.prepare import as_rgb

    try:
        with Image.open(image) as im:
            gray = as_rgb(im).convert("L").resize((320, 180))
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


class _Visual(Protocol):
    @property
    def source(self) -> str: ...


_V = TypeVar("_V", bound=_Visual)


def backgrounds(visuals: Iterable[_V]) -> list[_V]:
    """The video's visuals a thumbnail may be drawn over (a manifest's VisualItems, say): the photos and
    clips, not the generated ones. A generated card carries its own text, which the layouts would show
    under the title or cut (the hook's card shows the title itself, which the split layout's crop cut to
    "he Hubble Spac"; the closing card says the sources are in the description), and a generated motion
    background adds nothing to the background the layouts draw themselves when no visual is left."""
    return [v for v in visuals if v.source != GENERATED]


def _cover(image_path: Path | None, size: tuple[int, int], seed: int, blur: float):
    """The image scaled and centre-cropped to fill `size` (a generated background if none). The blur
    keeps text that is part of the image (generated title cards) from competing with the title."""
    from PIL import Image, ImageFilter, ImageOps

    from pipelines.media.prepare import as_rgb

    if image_path is None:
        return background(size, seed)
    with Image.open(image_path) as im:
        img = ImageOps.fit(as_rgb(im), size, Image.Resampling.LANCZOS)
    return img.filter(ImageFilter.GaussianBlur(blur)) if blur else img


def _overlay(image: Path | None, seed: int, style: Style):
    from PIL import ImageEnhance

    img = ImageEnhance.Brightness(_cover(image, SIZE, seed, blur=12)).enhance(0.45)
    return img, _rgb(style.title_colour), (0, 0, 0)


def _split(image: Path | None, seed: int, style: Style):
    from PIL import Image, ImageDraw

    w, h = SIZE
    img = Image.new("RGB", SIZE, palette(seed)[0])
    img.paste(_cover(image, (w // 2, h), seed, blur=0), (0, 0))
    ImageDraw.Draw(img).rectangle((w // 2, 0, w // 2 + STRIPE - 1, h), fill=_rgb(style.title_accent))
    return img, _rgb(style.title_colour), None


def _banner(image: Path | None, seed: int, style: Style):
    from PIL import ImageDraw

    w, h = SIZE
    img = _cover(image, SIZE, seed, blur=4)
    draw = ImageDraw.Draw(img)
    accent = _rgb(style.title_accent)
    draw.rectangle((0, BANNER_TOP, w, h), fill=accent)
    draw.rectangle((0, BANNER_TOP - 10, w, BANNER_TOP), fill=(0, 0, 0))
    ink = (0, 0, 0) if sum(accent) > 382 else (255, 255, 255)  # dark text on a light banner, and back
    return img, ink, None


@dataclass(frozen=True)
class _Layout:
    draw: Callable  # (image, seed, style) -> (background, title colour, outline colour or None)
    box: Box  # where the title's ink goes
    start: int  # the largest font size tried
    align: str
    stroke_ratio: float = 0.0  # outline width, as a fraction of the font size
    uppercase: bool = False  # in capitals when the style says so


_W, _H = SIZE
_LAYOUTS = {
    "overlay": _Layout(_overlay, (MARGIN, MARGIN, _W - MARGIN, _H - MARGIN), 150, "center", 0.06, True),
    "split": _Layout(_split, (_W // 2 + STRIPE + MARGIN, MARGIN, _W - MARGIN, _H - MARGIN), 110, "left"),
    "banner": _Layout(_banner, (MARGIN, BANNER_TOP + 24, _W - MARGIN, _H - MARGIN), 120, "center"),
}


def title_box(layout: str) -> Box:
    """The box (left, top, right, bottom) a layout keeps its title's ink in: at least MARGIN of the width
    from every edge of the frame (and, for the split and the banner, on the panel or banner)."""
    return _LAYOUTS[layout].box


def render_thumbnail(
    layout: str, title: str, image: Path | None, seed: int, style: Style, *, with_title: bool = True
) -> tuple[Any, TextBlock]:
    """One thumbnail of `layout` over `image` (a generated background from `seed` if None), and where its
    title goes: (PIL image, TextBlock). The title is fitted into title_box(layout) at the largest size that
    holds it whole; with_title=False leaves it out (the same image without the text)."""
    from PIL import ImageDraw

    spec = _LAYOUTS[layout]
    img, fill, outline = spec.draw(image, seed, style)
    text = title.upper() if spec.uppercase and style.title_uppercase else title
    draw = ImageDraw.Draw(img)
    block = layout_text(
        draw,
        text,
        BOLD,
        spec.box,
        spec.start,
        min_size=MIN_SIZE,
        stroke_ratio=spec.stroke_ratio if outline else 0.0,
        align=spec.align,
    )
    if with_title:
        block.draw(draw, fill, outline)
    return img, block


def _save(img, path: Path) -> Path:
    """The image as a JPEG under YouTube's size limit, written whole or not at all."""
    import io

    for quality in (90, 80, 70, 60):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality, optimize=True)
        if buf.tell() < MAX_BYTES:
            break
    return atomic_write_bytes(path, buf.getvalue())


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
    with tempfile.TemporaryDirectory(prefix=".thumbnails.", dir=out_dir) as work:  # hidden: a leftover
        best = best_visuals(media, Path(work), n)
        for i, layout in enumerate(LAYOUTS[:n]):
            image = best[i % len(best)] if best else None
            img, block = render_thumbnail(layout, title, image, seed + i, style)
            path = _save(img, out_dir / f"thumbnail_{i + 1}_{layout}.jpg")
            paths.append(path)
            log.info(
                "thumbnail %s (%s, from %s): title in %d line(s) at %d px, ink at %s%s",
                path.name,
                layout,
                image.name if image else "a generated background",
                len(block.lines),
                block.font.size,
                block.bbox,
                " (a long word broken)" if block.broken else "",
            )
    return paths
