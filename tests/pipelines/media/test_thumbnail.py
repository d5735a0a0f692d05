"""Thumbnails: the best visuals (never black or blank, never a generated card), the whole title inside the
frame with a margin in the channel's style, 1280x720 under 2 MB."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.artifacts import VisualItem
from pipelines.config import Style
from pipelines.media.ffmpeg import run_ffmpeg
from pipelines.media.thumbnail import (
    BANNER_TOP,
    LAYOUTS,
    MIN_SIZE,
    SIZE,
    backgrounds,
    best_visuals,
    make_thumbnails,
    render_thumbnail,
    title_box,
)
from pipelines.providers.broll.generated import GeneratedVisuals


def _solid(path: Path, colour: tuple[int, int, int]) -> Path:
    from PIL import Image

    Image.new("RGB", (640, 360), colour).save(path)
    return path


def _noise_photo(path: Path) -> Path:
    """A detailed, contrasty 'photo' (random noise, which JPEG cannot shrink much: a size worst case)."""
    import random

    from PIL import Image

    rng = random.Random(1)
    img = Image.frombytes("RGB", (1920, 1080), bytes(rng.randrange(256) for _ in range(1920 * 1080 * 3)))
    img.save(path)
    return path


def _stripes(path: Path, a=(220, 30, 30), b=(250, 250, 250), step: int = 48) -> Path:
    """A contrasty 'photo' of diagonal stripes in two colours."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1600, 900), b)
    draw = ImageDraw.Draw(img)
    for x in range(-900, 1600, 2 * step):
        draw.polygon([(x, 900), (x + step, 900), (x + step + 900, 0), (x + 900, 0)], fill=a)
    img.save(path)
    return path


def test_best_visuals_skip_black_and_blank_and_read_clips(tmp_path: Path) -> None:
    black = _solid(tmp_path / "black.png", (0, 0, 0))
    blank = _solid(tmp_path / "blank.png", (128, 128, 128))
    card = (
        GeneratedVisuals()
        .make("Hubble", "The telescope was launched in 1990.", tmp_path / "card.png", size=(640, 360), seed=3)
        .path
    )
    clip = tmp_path / "clip.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=2", "-pix_fmt", "yuv420p", str(clip)],
        what="making a test clip",
    )
    best = best_visuals([black, blank, card, clip], tmp_path, 3)
    assert len(best) == 2  # only the card and the clip's middle frame are worth a thumbnail
    assert card in best and any(p.name.startswith("frame") for p in best)


def test_thumbnails_are_1280x720_under_2_mb_and_not_blank(tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    photo = _noise_photo(tmp_path / "photo.png")
    black = _solid(tmp_path / "black.png", (0, 0, 0))
    style = Style(title_accent="#00AAFF", title_colour="#FFEE00")
    paths = make_thumbnails(
        "Ação: o Hubble vê 13 bilhões de anos", [black, photo], tmp_path / "out", style=style
    )
    assert len(paths) == 3
    for path in paths:
        assert path.stat().st_size < 2_000_000
        with Image.open(path) as im:
            assert (im.format, im.size) == ("JPEG", (1280, 720))
            rgb = im.convert("RGB")
        assert ImageStat.Stat(rgb.convert("L")).stddev[0] > 20  # not black, not blank
    with Image.open(paths[2]) as banner:  # the banner layout is in the channel's accent colour
        r, g, b = banner.convert("RGB").getpixel((20, 700))
    assert b > 200 and r < 60
    with Image.open(paths[1]) as split:  # and the title in its title colour
        title = [
            p for p in split.convert("RGB").crop((690, 50, 1240, 670)).getdata() if p[0] > 200 and p[2] < 80
        ]
    assert len(title) > 500


# --- whole titles ---------------------------------------------------------------------------------------

LONG_TITLES = [
    "A História Completa da Independência do Brasil e os Seus Protagonistas Esquecidos",
    "The Hubble Space Telescope and the Deepest Images Ever Taken of the Universe",
    "Pneumonoultramicroscopicsilico",  # one 30-letter word
    "Paraclorobenzilpirrolidinonetilbenzimidazol: a maior palavra",  # a 43-letter one
    "Why the Roman Empire Really Fell: Plagues, Migrations, Money and the Century That Changed All Europe",
    "Por Que o Império Romano Caiu de Verdade: Pestes, Migrações, Dinheiro e o Século Que Mudou a Europa!",
]


def _ink_box(with_title, without_title) -> tuple[int, int, int, int]:
    """The box of the pixels the title changed."""
    from PIL import ImageChops

    box = ImageChops.difference(with_title, without_title).convert("L").getbbox()
    assert box is not None, "no title was drawn"
    return box


@pytest.mark.parametrize("title", LONG_TITLES)
def test_every_layout_keeps_a_long_title_whole_inside_the_frame_with_a_margin(
    tmp_path: Path, title: str
) -> None:
    assert len(title) <= 100  # YouTube's limit, and the longest here are at it
    photo = _stripes(tmp_path / "photo.png")
    w, h = SIZE
    margin = 0.04 * w
    for layout in LAYOUTS:
        for image in (None, photo):
            drawn, block = render_thumbnail(layout, title, image, 7, Style())
            bare, _ = render_thumbnail(layout, title, image, 7, Style(), with_title=False)
            left, top, right, bottom = _ink_box(drawn, bare)  # measured on the rendered image
            where = f"{layout} over {image or 'a generated background'}: ink at {(left, top, right, bottom)}"
            assert left >= margin and top >= margin and w - right >= margin and h - bottom >= margin, where
            box = title_box(layout)  # on the split's panel, in the banner
            assert box[0] <= left and box[1] <= top and right <= box[2] and bottom <= box[3], where
            assert block.bbox[0] <= left and block.bbox[1] <= top, where  # the computed box holds the ink
            assert right <= block.bbox[2] and bottom <= block.bbox[3], where
            # every letter is there, in order, whole words unless one cannot fit even at the smallest size
            shown = title.upper() if layout == "overlay" else title
            assert "".join(block.lines).replace(" ", "").replace("-", "") == shown.replace(" ", "").replace(
                "-", ""
            )
            assert block.broken == (block.font.size <= MIN_SIZE and len(max(title.split(), key=len)) >= 30)
            assert block.font.size >= MIN_SIZE  # still legible at YouTube's small size


def test_a_short_title_is_set_large(tmp_path: Path) -> None:
    _, block = render_thumbnail("overlay", "Apollo 11", None, 1, Style())
    assert block.font.size >= 140 and len(block.lines) == 1


def test_the_written_thumbnails_keep_the_title_inside_the_margin(tmp_path: Path) -> None:
    """The JPEG files themselves: the title's colour (magenta; no background here has it) appears only
    inside the margin, and so does the banner's black text."""
    from PIL import Image, ImageChops

    style = Style(title_colour="#FF00FF", title_accent="#FFCC00")
    w, h = SIZE
    m = 0.04 * w
    for title in LONG_TITLES[:2]:
        for path in make_thumbnails(title, [], tmp_path / title[:8], style=style):
            with Image.open(path) as im:
                r, g, b = im.convert("RGB").split()
            if "banner" in path.name:  # black text on the yellow banner (below its black rule)
                ink = ImageChops.invert(ImageChops.lighter(ImageChops.lighter(r, g), b))
                ink = ink.crop((0, BANNER_TOP + 4, w, h)).point(lambda v: 255 if v > 190 else 0)
                offset = BANNER_TOP + 4
            else:
                ink = ImageChops.darker(ImageChops.darker(r, b), ImageChops.invert(g))
                ink = ink.point(lambda v: 255 if v > 170 else 0)
                offset = 0
            box = ink.getbbox()
            assert box is not None and ink.histogram()[255] > 2000, path.name  # the title is there
            left, top, right, bottom = box[0], box[1] + offset, box[2], box[3] + offset
            assert left >= m and top >= m and w - right >= m and h - bottom >= m, (path.name, box)


def _item(segment: int, path: Path, source: str) -> VisualItem:
    return VisualItem(segment=segment, path=str(path), source=source, licence="CC0")


def test_no_thumbnail_is_drawn_over_the_closing_card(tmp_path: Path) -> None:
    """The closing ("the sources are listed in the description") segment's generated card, the last
    visual, never becomes a thumbnail's background; nor does the hook's card (the title on a gradient)."""
    from PIL import Image, ImageChops, ImageStat

    title = "The Hubble Space Telescope"
    gen = GeneratedVisuals()
    hook = gen.make(title, "", tmp_path / "segment-00.png", seed=1).path
    red = _stripes(tmp_path / "segment-01.jpg")
    blue = _stripes(tmp_path / "segment-02.jpg", a=(20, 40, 200), b=(250, 220, 40), step=30)
    closing = gen.make(
        "Sources and closing",
        f"Those were the facts about {title}. The sources are listed in the description.",
        tmp_path / "segment-03.png",
        seed=4,
    ).path
    visuals = [_item(0, hook, "generated"), _item(1, red, "pexels"), _item(2, blue, "commons")]
    visuals.append(_item(3, closing, "generated"))
    assert [v.segment for v in backgrounds(visuals)] == [1, 2]

    outside = {  # where each layout shows its background and no title
        "overlay": (0, 0, SIZE[0], title_box("overlay")[1]),
        "split": (0, 0, SIZE[0] // 2, SIZE[1]),
        "banner": (0, 0, SIZE[0], BANNER_TOP - 10),
    }

    def drawn_over(path: Path, layout: str) -> Path:
        """Which visual the thumbnail's background is (the nearest, by mean difference)."""
        with Image.open(path) as im:
            shown = im.convert("RGB").crop(outside[layout])
        distance = {}
        for visual in (hook, red, blue, closing):
            bare, _ = render_thumbnail(layout, title, visual, 0, Style(), with_title=False)
            diff = ImageChops.difference(shown, bare.crop(outside[layout]))
            distance[visual] = sum(ImageStat.Stat(diff).mean)
        best = min(distance, key=lambda v: distance[v])
        assert distance[best] < 15 and all(d > 40 for v, d in distance.items() if v != best), distance
        return best

    every = make_thumbnails(title, [hook, red, blue, closing], tmp_path / "all")
    assert {drawn_over(p, layout) for p, layout in zip(every, LAYOUTS, strict=True)} & {hook, closing}
    chosen = make_thumbnails(title, [Path(v.path) for v in backgrounds(visuals)], tmp_path / "chosen")
    assert {drawn_over(p, layout) for p, layout in zip(chosen, LAYOUTS, strict=True)} == {red, blue}
