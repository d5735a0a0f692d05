"""Scene media prepared once for the renderer: every picture the same size and codec (JPEG/MJPEG).

Stills are composed with Pillow at ZOOM times the frame's size (room for the Ken Burns moves). Clips are
cut to exactly the frames they are on screen (trimmed; slowed or looped when shorter, never a frozen or
black tail) and fill that size. A picture of another shape than the frame is handled one of two ways:
- `follow=False` (the long-form): a still is fitted inside over a blurred, dimmed copy of itself; a clip
  is scaled and cropped about its centre;
- `follow=True` (a Short): both are cropped to the frame's shape where their subject is (see reframe.py):
  a still at its faces or salient part, a clip along a smooth path that follows its faces or motion. The
  renderer's Ken Burns move then runs over the crop, so the frame is always filled, never barred.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines.media.ffmpeg import FFmpegError, probe, run_ffmpeg

log = logging.getLogger(__name__)
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


def _same_shape(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return abs((a[0] / a[1]) / (b[0] / b[1]) - 1) < 0.02


def compose_still(image: Path, size: tuple[int, int], out: Path, *, follow: bool = False) -> Path:
    """The still filling `size` (JPEG): of the same shape, scaled; else, with `follow`, the crop of that
    shape that holds its subject; else fitted inside over a blurred, dimmed fill made from itself."""
    from PIL import Image, ImageFilter, ImageOps

    cw, ch = size
    try:
        with Image.open(image) as im:
            im = as_rgb(im)
    except OSError as e:
        raise ValueError(f"scene image {image} is not a readable image: {e}") from None
    if _same_shape(im.size, size):  # same shape: just scale it
        result = ImageOps.fit(im, size, Image.Resampling.BICUBIC)
    elif follow:
        result = im.resize(size, Image.Resampling.BICUBIC, box=_subject_box(im, size))
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


def as_rgb(im):
    """The picture as 8-bit RGB (the first frame of an animation). 16-bit grey (a PNG's I;16) is scaled down
    to 8 bits: converted as it is, every value over 255 would be white."""
    if im.mode.startswith("I"):
        im = im.convert("I")
        if im.getextrema()[1] > 255:
            im = im.point(lambda v: v / 256)
        im = im.convert("L")
    return im.convert("RGB")


def _subject_box(im, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The crop of `size`'s shape that holds the still's subject (reframe.still_focus), in its pixels."""
    import numpy as np
    from PIL import Image

    from pipelines.media import reframe

    small = im.convert("L").resize(
        (max(1, round(im.width * reframe.ANALYSIS_HEIGHT / im.height)), reframe.ANALYSIS_HEIGHT),
        Image.Resampling.BILINEAR,
    )
    focus = reframe.still_focus(np.asarray(small), size[0] / size[1])
    return reframe.crop_box(im.size, size[0] / size[1], focus)


def cut_clip(
    video: Path, size: tuple[int, int], fps: int, frames: int, out: Path, *, follow: bool = False
) -> Path:
    """`frames` frames of `video` filling `size`, as MJPEG in AVI (whose time base is 1/fps, like the
    stills': the concat demuxer does not convert between time bases): scaled and cropped about the centre,
    or, with `follow` and a clip of another shape, along a path that follows its subject (_follow_crop). A
    clip that is too short is slowed down (up to SLOW_AT_MOST) or else looped: never a frozen or black
    tail."""
    w, h = size
    try:
        info = probe(video)
    except FFmpegError as e:
        raise ValueError(f"scene clip {video} is not a readable video: {e}") from None
    length = info.duration
    need = frames / fps
    slow = need / length if length and need > length else 1.0
    speed = f"setpts={slow:.6f}*PTS," if 1.0 < slow <= SLOW_AT_MOST else ""
    loop = ["-stream_loop", "-1"] if slow > SLOW_AT_MOST else []
    fill = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"
    source = (info.video.width, info.video.height) if info.video else size
    if follow and not _same_shape(source, size):
        fill = _follow_crop(video, source, size, loop, speed, need, out)
        speed = "setpts=PTS-STARTPTS," + speed  # the path's times count from the clip's first frame
    run_ffmpeg(
        [*loop, "-i", str(video), "-an", "-vf",
         f"{speed}fps={fps},{fill},setsar=1,"
         "scale=out_range=pc,format=yuvj420p",
         "-frames:v", str(frames), "-c:v", "mjpeg", "-q:v", "3", "-f", "avi", str(out)],
        what=f"cutting clip {Path(video).name}",
    )  # fmt: skip
    return out


def _follow_crop(
    video: Path,
    source: tuple[int, int],
    size: tuple[int, int],
    loop: list[str],
    speed: str,
    seconds: float,
    out: Path,
) -> str:
    """The filters that scale a clip to cover `size` and crop it along a path following its subject: the
    clip is sampled (as it will be played: slowed or looped alike) small and grey, reframe finds the focus
    in each sample and smooths it into a path, written as crop's x or y expression of t."""
    import numpy as np

    from pipelines.media import reframe

    w, h = size
    scale = max(w / source[0], h / source[1])
    sw, sh = max(w, 2 * round(source[0] * scale / 2)), max(h, 2 * round(source[1] * scale / 2))
    aw = max(2, 2 * round(source[0] * reframe.ANALYSIS_HEIGHT / source[1] / 2))
    ah = reframe.ANALYSIS_HEIGHT
    count = max(1, min(reframe.MAX_SAMPLES, round(seconds * reframe.SAMPLE_RATE)))
    rate = count / seconds if seconds > 0 else reframe.SAMPLE_RATE
    samples = out.with_suffix(".samples.gray")
    run_ffmpeg(
        [*loop, "-i", str(video), "-an", "-vf",
         f"setpts=PTS-STARTPTS,{speed}fps={rate:.6f},scale={aw}:{ah}:flags=area,format=gray",
         "-frames:v", str(count), "-f", "rawvideo", str(samples)],
        what=f"sampling clip {Path(video).name} for its subject",
    )  # fmt: skip
    raw = np.frombuffer(samples.read_bytes(), dtype=np.uint8)
    samples.unlink()
    frames = [f for f in raw[: raw.size // (aw * ah) * aw * ah].reshape(-1, ah, aw)]
    path, how = reframe.clip_focus(frames, w / h)
    axis = reframe.slide_axis((sw, sh), w / h)
    room, span = (sw - w, w) if axis == 0 else (sh - h, h)
    offsets = [at * room for at in reframe.smooth(path, 1 / rate, room, span)] or [room / 2]
    times = [i / rate for i in range(len(offsets))]
    log.info("clip %s reframed by %s over %d samples", Path(video).name, how, len(frames))
    moving = reframe.path_expr(times, offsets)
    x, y = (moving, str((sh - h) // 2)) if axis == 0 else (str((sw - w) // 2), moving)
    return f"scale={sw}:{sh}:flags=bicubic,crop={w}:{h}:x='{x}':y='{y}'"


def compose_blank(size: tuple[int, int], out: Path) -> Path:
    """A black frame: what a stream shows while its scenes are off screen."""
    from PIL import Image

    Image.new("RGB", size).save(out, "JPEG", quality=95, subsampling=2)
    return out
