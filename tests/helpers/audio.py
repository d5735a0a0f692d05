"""Measuring audio in tests: samples of a WAV, the level of one frequency in a window, a test tone."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.media.audio_finish import RATE
from pipelines.media.ffmpeg import run_ffmpeg

if TYPE_CHECKING:
    import numpy as np


def samples(path: Path) -> np.ndarray:
    """Mono float samples in [-1, 1] (the first channel of a stereo file)."""
    import numpy as np

    with wave.open(str(path)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, w.getnchannels())[:, 0]
    return x.astype(np.float32) / 32768


def tone(path: Path, freq: int, seconds: float, gate: str | None = None) -> Path:
    """A sine; with `gate` (an ffmpeg expression of t) it sounds only where the gate is true."""
    af = ["-af", f"volume='if({gate},1,0)':eval=frame"] if gate else []
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={freq}:sample_rate=48000:duration={seconds}",
            *af,
            "-ac",
            "1",
            path,
        ],
        what="tone",
    )
    return path


def band_db(x: np.ndarray, freq: int, start: float, end: float) -> float:
    """Level of one frequency in a window (a single DFT bin), in dB."""
    import numpy as np

    seg = x[round(start * RATE) : round(end * RATE)].astype(np.float64)
    t = np.arange(len(seg)) / RATE
    return 20 * np.log10(abs(np.dot(seg, np.exp(-2j * np.pi * freq * t))) / len(seg) + 1e-12)
