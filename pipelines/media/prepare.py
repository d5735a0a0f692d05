"""Scene media prepared once for the renderer: every picture the same size and codec (JPEG/MJPEG).

Stills are composed with Pillow at ZOOM times the frame's size (room for the Ken Burns moves): the
still fitted inside, over a blurred, dimmed copy of itself, so a 16:9 still in a 9:16 Short sits at
full width in the middle. Clips are cut to exactly the frames they are on screen (trimmed; slowed or
looped when shorter, never a frozen or black tail), scaled and cropped to fill that size.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.media.ffmpeg import FFmpegError, probe, run_ffmpeg

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
BOOKEND_IMAGE_SECONDS = 3.0  # how long an intro or outro given as an image is shown
BLUR_DOWNSCALE = 8  # the fill behind a still is blurred at 1/8 size, then scaled up
BG_DIM = 0.7  # and darkened a little so the still stands out
SLOW_AT_MOST = 1.5  # a clip up to this much shorter than its scene is slowed; a shorter one loops
ZOOM = 1.12  # stills and clips are prepared this much larger than the frame: room to zoom and pan


def media_kind(path: Path) -> str:
    return "image" if Path(path).suffix.lower() in IMAGE_SUFFIXES else "video"


def bookend_seconds(path: Path | None) -> float:
    """How long an intro/outro file lasts in the video: a clip's own length, an image BOOKEND_IMAGE_SECONDS."""
    if path is None:
        return 0.0
    if not Path(path).is_file():
        raise FileNotFoundError(f"intro/outro file {path} does not exist")
    return BOOKEND_IMAGE_SECONDS if media_kind(path) == "image" else probe(path).duration


def canvas_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size stills and clips are prepared at: ZOOM times the frame, even."""
    return 2 * round(size[0] * ZOOM / 2), 2 * round(size[1] * ZOOM / 2)


def compose_still(image: Path, size: tuple[int, int], out: Path) -> Path:
    """The still fitted into `size` over a blurred, dimmed fill made from itself (JPEG)."""
    from PIL import Image, ImageFilter, ImageOps

    cw, ch = size
    try:
        with Image.open(image) as im:
            im = im.convert("RGB")
    except OSError as e:
        raise ValueError(f"scene image {image} is not a readable image: {e}") from None
    if abs((im.width / im.height) / (cw / ch) - 1) < 0.02:  # same shape: just scale it
        result = ImageOps.fit(im, size, Image.Resampling.BICUBIC)
    else:
        small = (max(16, cw // BLUR_DOWNSCALE), max(16, ch // BLUR_DOWNSCALE))
        fill = ImageOps.fit(im, small, Image.Resampling.BILINEAR).filter(
            ImageFilter.GaussianBlur(min(small) / 16)
        )
        result = fill.point(lambda v: round(v * BG_DIM)).resize(size, Image.Resampling.BILINEAR)
        still = ImageOps.contain(im, size, Image.Resampling.BICUBIC)
        result.paste(still, ((cw - still.width) // 2, (ch - still.height) // 2))
    result.save(out, "JPEG", quality=95, subsampling=2)  # 4:2:0, like the cut clips
    return out


def cut_clip(video: Path, size: tuple[int, int], fps: int, frames: int, out: Path) -> Path:
    """`frames` frames of `video` filling `size` (scaled, centre-cropped), as MJPEG in AVI (whose time base
    is 1/fps, like the stills': the concat demuxer does not convert between time bases). A clip that is
    too short is slowed down (up to SLOW_AT_MOST) or else looped: never a frozen or black tail."""
    w, h = size
    try:
        length = probe(video).duration
    except FFmpegError as e:
        raise ValueError(f"scene clip {video} is not a readable video: {e}") from None
    need = frames / fps
    slow = need / length if length and need > length else 1.0
    speed = f"setpts={slow:.6f}*PTS," if 1.0 < slow <= SLOW_AT_MOST else ""
    loop = ["-stream_loop", "-1"] if slow > SLOW_AT_MOST else []
    run_ffmpeg(
        [*loop, "-i", str(video), "-an", "-vf",
         f"{speed}fps={fps},scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1,"
         "scale=out_range=pc,format=yuvj420p",
         "-frames:v", str(frames), "-c:v", "mjpeg", "-q:v", "3", "-f", "avi", str(out)],
        what=f"cutting clip {Path(video).name}",
    )  # fmt: skip
    return out


def compose_blank(size: tuple[int, int], out: Path) -> Path:
    """A black frame: what a stream shows while its scenes are off screen."""
    from PIL import Image

    Image.new("RGB", size).save(out, "JPEG", quality=95, subsampling=2)
    return out
