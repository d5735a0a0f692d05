"""Thumbnails: the best visuals (never black or blank), the title in the channel's style, 1280x720 under 2 MB."""

from __future__ import annotations

from pathlib import Path

from pipelines.config import Style
from pipelines.media.ffmpeg import run_ffmpeg
from pipelines.media.thumbnail import best_visuals, make_thumbnails
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
