"""Finishing the narration: join voiced segments without clicks or uneven gaps, two-pass loudness
normalisation, and an optional music bed ducked under the voice.

- join: every segment is resampled to 48 kHz mono, its leading and trailing silence trimmed (a little
  kept around the speech), faded in and out over 10 ms, and followed by exactly `pause` seconds of
  silence. The cuts say how far each segment moved, so word timings can follow.
- normalise: pass 1 measures with loudnorm (print_format=json), pass 2 applies the measured values with
  linear=true (a plain gain when the true-peak ceiling allows it; loudnorm limits otherwise).
- music: looped to the voice's length, set to `music_db`, compressed by the voice (sidechaincompress),
  faded out at the end, mixed under the voice and normalised like the voice.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import PermanentError
from pipelines.media.ffmpeg import FFmpegArg, FFmpegError, probe, run_ffmpeg

log = logging.getLogger(__name__)

RATE = 48000
TARGET_LUFS = -14.0
TARGET_TP = -1.5  # dBTP; 0.5 dB under the -1 dBTP ceiling, for what resampling back to 48 kHz adds
TARGET_LRA = 11.0
LIMIT_ROUNDS = 4
LIMIT_MARGIN = 1.0  # dB: the limiter sits this far under TARGET_TP, so the final gain stays linear
SILENCE_BELOW_PEAK_DB = 40.0  # quieter than the segment's peak by this much counts as silence
KEEP = 0.03  # seconds kept before the first and after the last sound of a segment
FADE = 0.01  # seconds of fade at each edge of a segment
MUSIC_FADE_OUT = 3.0  # seconds


class SilentAudio(PermanentError, ValueError):
    """There is nothing audible to normalise: the voice produced silence (check its output)."""


class BadMusic(PermanentError, ValueError):
    """The music bed is not a sound ffmpeg can loop: unreadable, without an audio stream, or empty."""


MIN_MUSIC_SECONDS = (
    0.1  # a bed shorter than this is looped thousands of times a minute (an empty one: forever)
)


def check_music(music: Path) -> float:
    """The music bed's length in seconds; BadMusic saying what to do when it cannot be looped under a voice."""
    fix = "replace the file, or set audio.music to null in the channel's YAML"
    try:
        info = probe(music)
    except FFmpegError as e:
        last = e.stderr.strip().splitlines()[-1:] or ["ffmpeg printed nothing"]
        raise BadMusic(f"music bed {music}: not a readable audio file ({last[0]}): {fix}") from None
    if info.audio is None:
        raise BadMusic(f"music bed {music}: has no audio stream: {fix}")
    if info.duration < MIN_MUSIC_SECONDS:
        raise BadMusic(f"music bed {music}: {info.duration:.2f} s of sound, too short to loop: {fix}")
    return info.duration


@dataclass(frozen=True)
class Cut:
    offset: float  # where the segment starts in the joined audio (seconds)
    trimmed: float  # silence removed from its start (seconds): subtract from its word timings
    length: float  # its length after trimming (seconds)


def _decode(path: Path, tmp: Path):
    """Any audio file -> float32 mono samples at RATE."""
    import numpy as np

    run_ffmpeg(["-i", path, "-ac", "1", "-ar", RATE, "-f", "f32le", tmp], what=f"decode {path.name}")
    samples = np.fromfile(tmp, dtype=np.float32)
    tmp.unlink()
    return samples


def speech_bounds(x, rate: int = RATE) -> tuple[int, int]:
    """First and end sample of the audible part of `x`, with KEEP seconds kept on each side."""
    import numpy as np

    level = np.abs(x)
    if not len(x) or level.max() == 0:
        return 0, len(x)
    loud = np.flatnonzero(level > level.max() * 10 ** (-SILENCE_BELOW_PEAK_DB / 20))
    keep = round(KEEP * rate)
    return max(0, int(loud[0]) - keep), min(len(x), int(loud[-1]) + 1 + keep)


def join_segments(wavs: list[Path], pause: float, out: Path) -> list[Cut]:
    """Trim, fade and join the segment WAVs with `pause` seconds between them into a 48 kHz mono WAV."""
    import numpy as np

    fade_len = round(FADE * RATE)
    ramp = np.linspace(0.0, 1.0, fade_len, dtype=np.float32)
    gap = np.zeros(round(pause * RATE), dtype=np.float32)
    parts, cuts, at = [], [], 0
    for i, wav in enumerate(wavs):
        x = _decode(wav, out.with_suffix(".f32"))
        a, b = speech_bounds(x)
        seg = x[a:b].copy()
        n = min(fade_len, len(seg) // 2)
        seg[:n] *= ramp[:n]
        seg[len(seg) - n :] *= ramp[:n][::-1]
        cuts.append(Cut(round(at / RATE, 3), round(a / RATE, 3), round(len(seg) / RATE, 3)))
        parts.append(seg)
        at += len(seg)
        if i < len(wavs) - 1:
            parts.append(gap)
            at += len(gap)
    pcm = np.clip(np.concatenate(parts) * 32767, -32768, 32767).astype("<i2")
    write_wav(out, pcm.tobytes(), RATE)
    log.info("joined %d segments (%.1f s pauses) -> %s, %.2f s", len(wavs), pause, out, at / RATE)
    return cuts


def _loudnorm(src: Path, chain: str, what: str, out_args: Sequence[FFmpegArg]) -> dict:
    """Run `chain` then loudnorm on `src`; loudnorm's JSON report."""
    stderr = run_ffmpeg(["-loglevel", "info", "-nostats", "-i", src, "-af", chain, *out_args], what=what)
    return json.loads(stderr[stderr.rindex("{") : stderr.rindex("}") + 1])


def normalize(src: Path, out: Path, channels: int = 1) -> dict:
    """Loudness-normalise `src` to TARGET_LUFS, true peak under TARGET_TP -> a 48 kHz 16-bit WAV.

    Speech peaks far above its loudness (a 20 dB crest is common), so a plain gain to -14 LUFS would clip.
    A gain with a true-peak limiter (4x oversampled, delay compensated, so timings do not move) comes first,
    raised until the limited audio measures on target; then the classic two passes: loudnorm measures the
    result and applies it with linear=true (a plain gain, within the peak ceiling). Returns loudnorm's
    second-pass report (output_i, output_tp, normalization_type...)."""
    target = f"loudnorm=I={TARGET_LUFS}:TP={TARGET_TP}:LRA={TARGET_LRA}"
    measure = ["-f", "null", "-"]
    raw = _loudnorm(src, f"{target}:print_format=json", f"measure the loudness of {Path(src).name}", measure)
    if raw["input_i"] == "-inf":
        raise SilentAudio(f"{src} is silent: there is no loudness to normalise (check the voice's output)")
    ceiling = 10 ** ((TARGET_TP - LIMIT_MARGIN) / 20)
    gain = TARGET_LUFS - float(raw["input_i"])
    for _ in range(
        LIMIT_ROUNDS
    ):  # limiting lowers the loudness: raise the gain until the limited audio is on target
        pre = (
            f"volume={gain:.2f}dB,aresample={4 * RATE},"
            f"alimiter=limit={ceiling:.4f}:attack=2:release=60:level=false:latency=true,aresample={RATE}"
        )
        first = _loudnorm(
            src, f"{pre},{target}:print_format=json", f"measure the limited {Path(src).name}", measure
        )
        deficit = TARGET_LUFS - float(first["input_i"])
        if abs(deficit) < LIMIT_MARGIN - 0.2:  # the linear pass can make up the rest under the ceiling
            break
        gain += 1.5 * deficit  # limiting turns ~2/3 of the gain into loudness
    measured = (
        f"measured_I={first['input_i']}:measured_TP={first['input_tp']}:measured_LRA={first['input_lra']}"
        f":measured_thresh={first['input_thresh']}:offset={first['target_offset']}"
    )
    second = _loudnorm(
        src,
        f"{pre},{target}:{measured}:linear=true:print_format=json,aresample={RATE}",
        f"normalise the loudness of {Path(src).name}",
        ["-ac", channels, "-c:a", "pcm_s16le", out],
    )
    log.info(
        "loudness %s: %s LUFS -> %s LUFS, true peak %s -> %s dBTP (%s)",
        Path(out).name,
        raw["input_i"],
        second["output_i"],
        raw["input_tp"],
        second["output_tp"],
        second["normalization_type"],
    )
    return second


_INTEGRATED = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf) LUFS")
_TRUE_PEAK = re.compile(r"True peak:\s*Peak:\s*(-?[\d.]+|-inf) dBFS")


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated loudness in LUFS, true peak in dBTP) of a file, measured by ffmpeg's ebur128 filter."""
    stderr = run_ffmpeg(
        ["-loglevel", "info", "-nostats", "-i", path, "-af", "ebur128=peak=true", "-f", "null", "-"],
        what=f"measure {Path(path).name} (EBU R128)",
    )
    summary = stderr[stderr.rindex("Summary:") :]
    return _measured(_INTEGRATED, summary), _measured(_TRUE_PEAK, summary)


def _measured(pattern: re.Pattern[str], summary: str) -> float:
    m = pattern.search(summary)
    if m is None:
        raise RuntimeError(f"ffmpeg's EBU R128 summary has no match for {pattern.pattern!r}:\n{summary}")
    return float(m.group(1))


def mix_music(voice: Path, music: Path, out: Path, music_db: float, duration: float) -> dict:
    """The voice over a music bed: looped, at `music_db`, ducked while the voice speaks, faded out at the end;
    the mix is loudness-normalised like the voice. `voice` itself is left as it is. BadMusic (before any
    mixing) for a bed that cannot be looped (check_music)."""
    check_music(music)
    fade = min(MUSIC_FADE_OUT, duration / 4)
    graph = (
        f"[1:a]aformat=sample_rates={RATE}:channel_layouts=stereo,volume={music_db}dB,"
        f"atrim=0:{duration:.3f},afade=t=out:st={duration - fade:.3f}:d={fade:.3f}[bed];"
        f"[0:a]aformat=sample_rates={RATE}:channel_layouts=stereo,asplit=2[voice][key];"
        "[bed][key]sidechaincompress=threshold=0.02:ratio=10:attack=10:release=350[ducked];"
        "[voice][ducked]amix=inputs=2:duration=first:normalize=0[mix]"
    )
    raw = out.with_name(out.stem + "-unnormalised.wav")
    run_ffmpeg(
        [
            "-i",
            voice,
            "-stream_loop",
            "-1",
            "-i",
            music,
            "-filter_complex",
            graph,
            "-map",
            "[mix]",
            "-c:a",
            "pcm_s16le",
            raw,
        ],
        what=f"mix the music bed {music.name} under the voice",
    )
    report = normalize(raw, out, channels=2)
    raw.unlink()
    return report


def write_wav(path: Path, pcm: bytes, rate: int) -> None:
    """Mono 16-bit little-endian PCM -> a WAV file (folders created)."""
    import wave

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
