"""Reframing: a picture or clip into a frame of another shape (a landscape still or clip in a 9:16 Short)
by a crop of the frame's shape that follows what matters in it, instead of bars or a blurred fill.

What matters, in order: faces (OpenCV's Haar cascade for frontal faces, which opencv-python-headless 4.x
ships in `cv2.data`: nothing is downloaded), else motion (clips: differences between sampled frames),
else saliency (the spectral residual of the picture, Hou & Zhang 2007), else the centre. Motion and
saliency count only when they are concentrated: the best crop must hold FOCUS_GAIN times what an even
spread would put in it (a textured or panning picture has no focus; its crop stays in the middle).

The crop is the largest window of the frame's aspect inside the picture, so it slides along one axis
only (across a landscape picture for a portrait frame). Its place is where it holds the most of what
matters, centred on that (a face in the middle of the crop, several faces together when they fit).

A clip's crop moves: the focus is measured on frames sampled SAMPLE_RATE times a second, filled in where a
sample has none, smoothed (a median of three, then a moving average), its speed clamped to MAX_SPEED and
held still when it would wander less than HOLD; `path_expr` writes it as a piecewise-linear expression of
the time `t` for ffmpeg's crop filter. Pictures are analysed small and grey (ANALYSIS_HEIGHT rows).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

ANALYSIS_HEIGHT = 270  # rows a picture is analysed at (a face of 9% of the height is the cascade's 24 px)
SAMPLE_RATE = 2.0  # frames of a clip analysed per second
MAX_SAMPLES = 24  # at most, spread over a longer clip (a sample's faces cost ~50 ms)
MAX_SPEED = 0.2  # the crop moves at most this share of its own width per second
HOLD = 0.05  # a path that would wander less than this share of the crop's width holds still
FOCUS_GAIN = 1.3  # motion/saliency count when the best crop holds this much more than an even spread
MIN_FACE = 0.09  # a face is at least this share of the picture's height (smaller ones are noise)
CASCADE = "haarcascade_frontalface_default.xml"


@dataclass(frozen=True)
class Focus:
    """Where the crop sits: `at` of the way along the axis it can slide (0 = left/top edge, 1 = right/bottom
    edge, 0.5 = centred), found by `how` (faces, motion, saliency or centre)."""

    at: float
    how: str


def slide_axis(src: tuple[int, int], aspect: float) -> int:
    """0 when a window of `aspect` (width/height) slides across a `src`-sized picture, 1 when up and down."""
    return 0 if src[0] / src[1] > aspect else 1


def window(src: tuple[int, int], aspect: float) -> tuple[int, int]:
    """The largest window of `aspect` (width/height) inside a `src`-sized picture: (width, height)."""
    w, h = src
    if w / h > aspect:
        return max(1, min(w, round(h * aspect))), h
    return w, max(1, min(h, round(w / aspect)))


def crop_box(src: tuple[int, int], aspect: float, focus: Focus) -> tuple[int, int, int, int]:
    """The crop of `aspect` inside a `src`-sized picture placed at `focus`: (left, top, right, bottom)."""
    cw, ch = window(src, aspect)
    left = round((src[0] - cw) * (focus.at if slide_axis(src, aspect) == 0 else 0.5))
    top = round((src[1] - ch) * (focus.at if slide_axis(src, aspect) == 1 else 0.5))
    return left, top, left + cw, top + ch


# --- where the mass is ------------------------------------------------------------------------------


def place(profile: np.ndarray, span: int, *, gain: float = 0.0) -> float | None:
    """Where a window `span` long over `profile` (mass per column or row) holds the most, centred on the
    mass it holds: its offset as a share of the room it has (0..1). None when there is no mass, or when the
    best window holds less than `gain` times its share of the total (no clear focus)."""
    import numpy as np

    n = len(profile)
    total = float(profile.sum())
    if n <= span or total <= 0:
        return None if total <= 0 else 0.5
    sums = np.convolve(profile, np.ones(span), mode="valid")  # sums[p] = profile[p:p + span].sum()
    best = float(sums.max())
    if best < gain * total * span / n:
        return None
    first = int(np.argmax(sums))
    inside = profile[first : first + span]
    centroid = first + float((inside * np.arange(span)).sum() / max(inside.sum(), 1e-9))
    ideal = centroid - span / 2
    good = np.flatnonzero(sums >= 0.98 * best)  # as good: the one that centres the mass
    chosen = int(good[np.argmin(np.abs(good - ideal))])
    return chosen / (n - span)


_local = threading.local()


def _cascade():
    """The frontal-face cascade, one per thread (a classifier is not shared between threads)."""
    import cv2

    haarcascades = cv2.data.haarcascades  # type: ignore[attr-defined]  # the cascades inside the package
    if getattr(_local, "cascade", None) is None:
        _local.cascade = cv2.CascadeClassifier(haarcascades + CASCADE)
        if _local.cascade.empty():
            raise RuntimeError(
                f"OpenCV's {CASCADE} is missing from {haarcascades} (opencv-python-headless 4.x)"
            )
    return _local.cascade


def faces(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Frontal faces in a grey picture (uint8): (x, y, width, height) boxes in its pixels."""
    side = max(24, round(gray.shape[0] * MIN_FACE))
    found = _cascade().detectMultiScale(gray, scaleFactor=1.15, minNeighbors=6, minSize=(side, side))
    return [tuple(int(v) for v in box) for box in found]  # type: ignore[misc]


def face_profile(boxes: Sequence[tuple[int, int, int, int]], length: int, axis: int) -> np.ndarray:
    """Each face's area spread over the columns (axis 0) or rows (axis 1) it covers."""
    import numpy as np

    profile = np.zeros(length)
    for x, y, w, h in boxes:
        start, size, other = (x, w, h) if axis == 0 else (y, h, w)
        profile[start : start + size] += other
    return profile


def saliency(gray: np.ndarray) -> np.ndarray:
    """The spectral-residual saliency map of a grey picture, at its size, 0..1."""
    import cv2
    import numpy as np

    h, w = gray.shape
    scale = 64 / max(h, w)
    small = cv2.resize(gray.astype(np.float32), (max(8, round(w * scale)), max(8, round(h * scale))))
    spectrum = np.fft.fft2(small)
    log_amplitude = np.log(np.abs(spectrum) + 1e-6)
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3))
    out = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    out = cv2.GaussianBlur(out.astype(np.float32), (0, 0), 2.5)
    out -= out.min()
    peak = float(out.max())
    out = (out / peak if peak > 0 else out).astype(np.float32)
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)


def motion(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """What changed between two grey pictures of the same size (small changes, noise, left out)."""
    import cv2
    import numpy as np

    diff = cv2.absdiff(cv2.GaussianBlur(a, (5, 5), 0), cv2.GaussianBlur(b, (5, 5), 0)).astype(np.float32)
    diff[diff < 12] = 0
    return diff


def _span(gray: np.ndarray, aspect: float) -> tuple[int, int]:
    h, w = gray.shape
    axis = slide_axis((w, h), aspect)
    return axis, window((w, h), aspect)[axis]


def still_focus(gray: np.ndarray, aspect: float) -> Focus:
    """Where a crop of `aspect` should sit on a still (grey, uint8): its faces, else its salient part,
    else the centre."""
    axis, span = _span(gray, aspect)
    length = gray.shape[1 - axis]
    at = place(face_profile(faces(gray), length, axis), span)
    if at is not None:
        return Focus(at, "faces")
    at = place(saliency(gray).sum(axis=axis), span, gain=FOCUS_GAIN)
    return Focus(at, "saliency") if at is not None else Focus(0.5, "centre")


# --- a moving crop for a clip -------------------------------------------------------------------------


def _fill(values: list[float | None]) -> list[float]:
    """Gaps (None) filled by straight lines between their neighbours, held at the ends."""
    known = [i for i, v in enumerate(values) if v is not None]
    out = []
    for i, v in enumerate(values):
        if v is not None:
            out.append(v)
            continue
        before = max((k for k in known if k < i), default=None)
        after = min((k for k in known if k > i), default=None)
        if before is None or after is None:
            out.append(values[before if after is None else after])  # type: ignore[index,arg-type]
        else:
            a, b = values[before], values[after]
            out.append(a + (b - a) * (i - before) / (after - before))  # type: ignore[operator]
    return out


def clip_focus(frames: Sequence[np.ndarray], aspect: float) -> tuple[list[float], str]:
    """Per sampled frame (grey, uint8, all one size), where a crop of `aspect` should sit, and by what:
    faces when at least a third of the frames have one, else motion or saliency when at least half of
    them have a clear focus, else the centre throughout."""
    if not frames:
        return [], "centre"
    axis, span = _span(frames[0], aspect)
    length = frames[0].shape[1 - axis]
    by_faces = [place(face_profile(faces(f), length, axis), span) for f in frames]
    if sum(v is not None for v in by_faces) * 3 >= len(frames):
        return _fill(by_faces), "faces"
    moved = [motion(a, b).sum(axis=axis) for a, b in zip(frames, frames[1:], strict=False)]
    by_motion = [place(m, span, gain=FOCUS_GAIN) for m in moved]
    by_motion = [by_motion[0] if by_motion else None, *by_motion]  # a difference belongs to its later frame
    if len(frames) > 1 and sum(v is not None for v in by_motion) * 2 >= len(frames):
        return _fill(by_motion), "motion"
    by_saliency = [place(saliency(f).sum(axis=axis), span, gain=FOCUS_GAIN) for f in frames]
    if sum(v is not None for v in by_saliency) * 2 >= len(frames):
        return _fill(by_saliency), "saliency"
    return [0.5] * len(frames), "centre"


def smooth(path: Sequence[float], dt: float, room: float, span: float) -> list[float]:
    """A path of offsets (shares of `room`, the pixels the crop can slide; `span` is the crop's own size)
    sampled every `dt` seconds, made calm: a median of three, a moving average, at most MAX_SPEED, and held
    at its median when it would wander less than HOLD."""
    import numpy as np

    values = np.asarray(path, dtype=float)
    if len(values) == 0 or room <= 0:
        return [0.5] * len(values)
    if len(values) >= 3:
        padded = np.concatenate([values[:1], values, values[-1:]])
        values = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
    weights = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    padded = np.concatenate([np.repeat(values[:1], 2), values, np.repeat(values[-1:], 2)])
    values = np.convolve(padded, weights / weights.sum(), mode="valid")
    step = MAX_SPEED * span * dt / room  # the largest move between two samples, as a share of the room
    for i in range(1, len(values)):
        values[i] = values[i - 1] + float(np.clip(values[i] - values[i - 1], -step, step))
    if (values.max() - values.min()) * room < HOLD * span:
        values[:] = float(np.median(values))
    return [float(v) for v in np.clip(values, 0.0, 1.0)]


def path_expr(times: Sequence[float], offsets: Sequence[float]) -> str:
    """An ffmpeg expression of `t`: straight lines through (times[i], offsets[i]) (pixels), held before the
    first and after the last; a balanced tree of if(lt(t, ...)), so a frame costs a few comparisons."""
    keys = [(round(t, 3), round(x, 1)) for t, x in zip(times, offsets, strict=True)]
    if not keys:
        return "0"
    if len(keys) == 1 or all(x == keys[0][1] for _, x in keys):
        return f"{keys[0][1]:g}"

    def piece(i: int) -> str:  # the line from key i to key i + 1
        (t0, x0), (t1, x1) = keys[i], keys[i + 1]
        return f"{x0:g}+({x1 - x0:g})*(t-{t0:g})/{t1 - t0:g}" if x1 != x0 and t1 > t0 else f"{x0:g}"

    def tree(lo: int, hi: int) -> str:  # pieces lo..hi-1, each from keys[i][0] on
        if hi - lo == 1:
            return piece(lo)
        mid = (lo + hi) // 2
        return f"if(lt(t,{keys[mid][0]:g}),{tree(lo, mid)},{tree(mid, hi)})"

    first, last = keys[0], keys[-1]
    return f"if(lt(t,{first[0]:g}),{first[1]:g},if(gte(t,{last[0]:g}),{last[1]:g},{tree(0, len(keys) - 1)}))"
