"""Reframing for Shorts: a landscape still or clip in a 9:16 frame is cropped where its subject is, fills the
frame (no bars, no blurred copy of itself), and a clip's crop moves smoothly. Real ffmpeg renders, checked
on the decoded frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.media import reframe
from pipelines.media.ffmpeg import run_ffmpeg
from pipelines.media.render import Scene, render_video

SHORT = (360, 640)  # 9:16, small enough to render in a second or two
SKIN, HAIR, MOUTH = (225, 185, 160), (60, 40, 30), (150, 60, 60)


def _texture(size: tuple[int, int], seed: int):
    """A sharp, busy, blue-green background (no skin or red in it): blocks of random colour."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    small = (size[1] // 6, size[0] // 6, 3)
    blocks = rng.integers((20, 60, 80), (90, 150, 170), small)
    return Image.fromarray(blocks.astype("uint8")).resize(size, Image.Resampling.NEAREST)


def _face(img, cx: float, cy: float, s: float) -> None:
    """A cartoon face, `s` pixels wide, that OpenCV's frontal-face cascade finds."""
    from PIL import ImageDraw

    d = ImageDraw.Draw(img)
    d.ellipse((cx - 0.5 * s, cy - 0.65 * s, cx + 0.5 * s, cy + 0.65 * s), fill=SKIN)
    d.chord((cx - 0.52 * s, cy - 0.7 * s, cx + 0.52 * s, cy + 0.1 * s), 180, 360, fill=HAIR)
    for side in (-1, 1):
        ex, ey = cx + side * 0.2 * s, cy - 0.08 * s
        d.rectangle((ex - 0.13 * s, ey - 0.16 * s, ex + 0.13 * s, ey - 0.11 * s), fill=HAIR)
        d.ellipse((ex - 0.12 * s, ey - 0.06 * s, ex + 0.12 * s, ey + 0.06 * s), fill=(245, 245, 245))
        d.ellipse((ex - 0.05 * s, ey - 0.05 * s, ex + 0.05 * s, ey + 0.05 * s), fill=(40, 30, 25))
    d.polygon(
        [(cx, cy), (cx - 0.07 * s, cy + 0.22 * s), (cx + 0.07 * s, cy + 0.22 * s)], fill=(195, 150, 125)
    )
    d.ellipse((cx - 0.17 * s, cy + 0.33 * s, cx + 0.17 * s, cy + 0.42 * s), fill=MOUTH)


def _face_still(path: Path) -> Path:
    """1920x1080, a face centred at x = 80% of the width: a centre crop to 9:16 (x 34%..66%) misses it."""
    img = _texture((1920, 1080), seed=1)
    _face(img, 1536, 540, 400)
    img.save(path)
    return path


def _silence(path: Path, seconds: float) -> Path:
    run_ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", seconds, path], what="making silence")
    return path


def _frames(video: Path, size: tuple[int, int], every: int = 1):
    """Every `every`-th decoded frame as an RGB array (height, width, 3)."""
    import numpy as np

    raw = video.with_suffix(".rgb")
    run_ffmpeg(["-i", video, "-f", "rawvideo", "-pix_fmt", "rgb24", raw], what="decoding frames")
    w, h = size
    frames = np.frombuffer(raw.read_bytes(), dtype=np.uint8).reshape(-1, h, w, 3)
    return list(frames[::every])


def _sharpness(rgb) -> float:
    """High-frequency energy: the mean absolute Laplacian of the grey picture."""
    g = rgb.astype(float).mean(axis=2)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(abs(lap).mean())


def _assert_fills_the_frame(frame) -> None:
    """No letterbox (top and bottom fifths neither uniform nor dark) and no blurred copy of the picture
    behind it (they are about as sharp as the middle fifth)."""
    h = frame.shape[0]
    top, middle, bottom = frame[: h // 5], frame[2 * h // 5 : 3 * h // 5], frame[-(h // 5) :]
    for band in (top, bottom):
        assert band.std() > 15 and band.mean() > 40  # a bar is one flat (dark) colour
        assert _sharpness(band) > 0.5 * _sharpness(middle)  # a blurred fill has a fraction of it


def _where(frame, colour: tuple[int, int, int], tolerance: int = 30):
    """The pixels (ys, xs) within `tolerance` of `colour` on every channel."""
    import numpy as np

    close = (abs(frame.astype(int) - np.array(colour)) <= tolerance).all(axis=2)
    return np.nonzero(close)


def test_a_face_in_a_landscape_still_stays_in_the_short_which_it_fills(tmp_path: Path) -> None:
    still = _face_still(tmp_path / "face.png")
    out = tmp_path / "short.mp4"
    render_video([Scene(still, 0, 3)], _silence(tmp_path / "s.wav", 3), out, size=SHORT)
    w, h = SHORT
    frames = _frames(out, SHORT, every=15)
    assert len(frames) == 6
    for frame in frames:
        _assert_fills_the_frame(frame)
        ys, xs = _where(frame, SKIN)
        # the face is in the crop, whole: in the middle of the frame, clear of its edges (Ken Burns included)
        assert len(xs) > 0.1 * w * h
        assert 0.3 * w < xs.mean() < 0.7 * w and xs.min() > 0.05 * w and xs.max() < 0.95 * w
        assert 0.2 * h < ys.mean() < 0.6 * h
        assert len(_where(frame, MOUTH)[0]) > 200  # its mouth too: the lower part of the face is there
    assert abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 5  # the Ken Burns move runs


def _moving_square_clip(path: Path, seconds: float) -> Path:
    """1280x720 over the busy background: a red square moving right from x = 70% to 82% of the width (a
    centre crop to 9:16, x 34%..66%, never shows it)."""
    background = _texture((1280, 720), seed=2)
    background.save(path.with_suffix(".png"))
    run_ffmpeg(
        ["-loop", "1", "-i", path.with_suffix(".png"), "-f", "lavfi", "-i", "color=c=red:s=80x80:r=25",
         "-filter_complex", f"[0][1]overlay=x='896+{160 / seconds:.3f}*t':y=320:shortest=1",
         "-t", seconds, "-r", 25, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path],
        what="making a clip with a moving subject",
    )  # fmt: skip
    return path


def test_a_landscape_clip_is_followed_by_a_smooth_crop(tmp_path: Path) -> None:
    clip = _moving_square_clip(tmp_path / "square.mp4", 4.0)
    out = tmp_path / "short.mp4"
    render_video([Scene(clip, 0, 3, "video")], _silence(tmp_path / "s.wav", 3), out, size=SHORT)
    w, _ = SHORT
    frames = _frames(out, SHORT)
    assert len(frames) == 90
    centres = []
    for frame in frames:
        ys, xs = _where(frame, (255, 0, 0), tolerance=60)
        assert len(xs) > 2000  # the whole square (about 75x75 here) is in the frame...
        assert xs.min() > 0.05 * w and xs.max() < 0.95 * w  # ...clear of its edges
        centres.append(xs.mean())
    for frame in frames[::15]:
        _assert_fills_the_frame(frame)
    steps = [abs(b - a) for a, b in zip(centres, centres[1:], strict=False)]
    assert max(steps) < 4  # no jumps: the crop glides (the square itself moves ~1.3 px a frame)


def test_the_long_form_still_shows_the_whole_picture(tmp_path: Path) -> None:
    """A 16:9 frame is not reframed: a portrait still keeps all of itself, over its blurred fill."""
    from PIL import Image

    tall = tmp_path / "tall.png"
    Image.open(_face_still(tmp_path / "face.png")).rotate(90, expand=True).save(tall)
    out = tmp_path / "long.mp4"
    render_video([Scene(tall, 0, 1)], _silence(tmp_path / "s.wav", 1), out, size=(640, 360), crossfade=0)
    first = _frames(out, (640, 360))[0]
    ys, xs = _where(first, SKIN)
    assert len(xs) > 0  # the face (at the top of the turned picture) is still in view
    side = first[:, : 640 // 8]  # the fill beside the picture: blurred, dimmed
    assert _sharpness(side) < 0.3 * _sharpness(first[:, 640 // 2 - 60 : 640 // 2 + 60])


# --- the focus itself, on pictures with a known answer ---------------------------------------------


def _grey(img):
    import numpy as np
    from PIL import Image

    h = reframe.ANALYSIS_HEIGHT
    return np.asarray(
        img.convert("L").resize((round(img.width * h / img.height), h), Image.Resampling.BILINEAR)
    )


def test_a_still_is_cropped_at_its_face_else_its_subject_else_the_centre(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    face = reframe.still_focus(_grey(Image.open(_face_still(tmp_path / "face.png"))), 9 / 16)
    room = 1920 - 1080 * 9 / 16
    assert face.how == "faces" and face.at == pytest.approx((1536 - 1080 * 9 / 32) / room, abs=0.03)

    plain = Image.new("RGB", (1920, 1080), (60, 60, 70))
    ImageDraw.Draw(plain).rectangle((200, 420, 420, 640), fill=(250, 220, 40))  # a bright thing, left
    subject = reframe.still_focus(_grey(plain), 9 / 16)
    left, _, right, _ = reframe.crop_box((1920, 1080), 9 / 16, subject)
    assert subject.how == "saliency" and left <= 200 and right >= 420

    busy = reframe.still_focus(_grey(_texture((1920, 1080), seed=3)), 9 / 16)
    assert busy == reframe.Focus(0.5, "centre")  # texture everywhere: nothing stands out


def test_a_crop_path_is_calm() -> None:
    dt, room, span = 0.5, 1000.0, 400.0
    jump = reframe.smooth([0.0] * 6 + [1.0] * 6, dt, room, span)
    most = reframe.MAX_SPEED * span * dt / room
    assert all(abs(b - a) <= most + 1e-9 for a, b in zip(jump, jump[1:], strict=False))
    assert jump[0] == 0.0 and jump[-1] > jump[5]  # it follows, at most MAX_SPEED
    jitter = reframe.smooth([0.5, 0.51, 0.49, 0.52, 0.5, 0.48], dt, room, span)
    assert len(set(jitter)) == 1  # a subject that barely moves: the crop holds still
    assert reframe.path_expr([0, 1], [10, 10]) == "10"


def test_a_clips_focus_is_its_faces_else_its_motion_else_the_centre(tmp_path: Path) -> None:
    import numpy as np

    def frames(draw) -> list:
        out = []
        for k in range(6):
            img = _texture((640, 360), seed=4)
            draw(img, k)
            out.append(_grey(img))
        return out

    def red_square(img, k: int) -> None:  # moving along the left side
        from PIL import ImageDraw

        ImageDraw.Draw(img).rectangle((60 + 4 * k, 150, 100 + 4 * k, 190), fill=(255, 0, 0))

    path, how = reframe.clip_focus(frames(lambda img, k: _face(img, 500, 180, 130)), 9 / 16)
    assert how == "faces" and all(at > 0.85 for at in path)  # the face, on the right, throughout
    path, how = reframe.clip_focus(frames(red_square), 9 / 16)
    assert how == "motion" and all(at < 0.15 for at in path)
    path, how = reframe.clip_focus(frames(lambda img, k: None), 9 / 16)
    assert (how, set(path)) == ("centre", {0.5})  # texture that never changes: nothing to follow
    assert np.allclose(reframe.smooth(path, 0.5, 400, 200), 0.5)
