"""Audio finishing on real audio with real ffmpeg: joins, silence trimming, loudness, music bed ducking."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipelines.media.audio_finish import (
    FADE,
    KEEP,
    RATE,
    SilentAudio,
    ebur128,
    join_segments,
    mix_music,
    normalize,
)
from pipelines.media.ffmpeg import audio_duration, run_ffmpeg
from pipelines.providers.tts.espeak import EspeakTTS
from pipelines.stages.audio import _place
from tests.helpers.audio import band_db, samples, tone

if TYPE_CHECKING:
    import numpy as np

TEXTS = [
    "The octopus has three hearts.",
    "Its blood is blue, because of copper.",
    "It can taste with its arms!",
]


def rms_db(x: np.ndarray) -> float:
    import numpy as np

    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-9)


def padded_speech(tmp_path: Path, lead: float = 0.6, tail: float = 0.9):
    """Three espeak segments with silence added before and after each (as neural voices leave it)."""
    wavs, timings = [], []
    for i, text in enumerate(TEXTS):
        raw = tmp_path / f"raw-{i}.wav"
        words = EspeakTTS("en-us").synthesize(text, raw)
        wav = tmp_path / f"seg-{i}.wav"
        run_ffmpeg(
            ["-i", raw, "-af", f"adelay={round(lead * 1000)}:all=1,apad=pad_dur={tail}", wav], what="pad"
        )
        wavs.append(wav)
        timings.append([type(w)(w.text, w.start + lead, w.end + lead) for w in words])
    return wavs, timings


def silent_runs(x: np.ndarray, level: float, rate: int = RATE) -> list[tuple[float, float]]:
    """(start, length) in seconds of every run of samples quieter than `level` for 10 ms windows."""
    import numpy as np

    win = rate // 100
    loud = np.abs(x[: len(x) // win * win]).reshape(-1, win).max(axis=1) > level
    runs, start = [], None
    for i, is_loud in enumerate([*loud, True]):
        if not is_loud and start is None:
            start = i
        elif is_loud and start is not None:
            runs.append((start / 100, (i - start) / 100))
            start = None
    return runs


def test_join_trims_silence_keeps_an_even_pause_and_has_no_clicks(tmp_path: Path) -> None:
    import numpy as np

    wavs, timings = padded_speech(tmp_path)
    pause = 0.45
    joined = tmp_path / "joined.wav"
    cuts = join_segments(wavs, pause, joined)
    x = samples(joined)
    level = np.abs(x).max() * 0.01  # -40 dB under the peak

    # the padding is gone: sound within KEEP (+ a 10 ms window) of both ends, and each cut says what it removed
    assert all(c.trimmed == pytest.approx(0.6 - KEEP, abs=0.03) for c in cuts)
    runs = silent_runs(x, level)
    assert not runs or runs[0][0] > 0 or runs[0][1] <= KEEP + 0.02
    assert audio_duration(joined) == pytest.approx(sum(c.length for c in cuts) + 2 * pause, abs=0.01)
    assert audio_duration(joined) < sum(audio_duration(w) for w in wavs) - 2.5

    # at every join the silence is the pause (plus what was kept around the speech), never longer
    for cut in cuts[1:]:
        gap = [length for start, length in runs if start <= cut.offset <= start + length + 0.01]
        assert gap and pause <= gap[0] <= pause + 2 * KEEP + 0.02

    # word timings follow the trim: every word still points at speech in the joined audio
    for i, (words, cut) in enumerate(zip(timings, cuts, strict=True)):
        for w in _place(words, cut, i):
            assert w.start >= cut.offset and w.end <= cut.offset + cut.length + 1e-3
            inside = x[round(w.start * RATE) : round(w.end * RATE)]
            assert rms_db(inside) > rms_db(x) - 15, w


def test_joins_have_no_clicks_even_where_a_voice_stops_mid_sound(tmp_path: Path) -> None:
    # segments that start and stop at full level (a 440 Hz tone cut off mid-cycle, amplitude 1/8)
    import numpy as np

    wavs = [tone(tmp_path / f"t{i}.wav", 440, 1.013 + i * 0.29) for i in range(3)]
    assert max(abs(samples(w)[-1]) for w in wavs) > 0.05  # joined as is, these ends would click
    joined = tmp_path / "joined.wav"
    cuts = join_segments(wavs, 0.45, joined)
    x = samples(joined)
    steady = np.abs(np.diff(x[round(0.2 * RATE) : round(0.8 * RATE)])).max()  # the tone's own steepest step
    for cut in cuts:
        for edge in (cut.offset, cut.offset + cut.length):
            i = round(edge * RATE)
            around = x[max(0, i - round(FADE * RATE)) : i + round(FADE * RATE)]
            assert np.abs(np.diff(around)).max() <= steady * 1.01


@pytest.mark.parametrize("gain_db", [-20, 6])  # a quiet voice and one that already clips the ceiling
def test_two_pass_loudness_meets_minus_14_lufs_under_minus_1_dbtp(tmp_path: Path, gain_db: int) -> None:
    wavs, _ = padded_speech(tmp_path, lead=0.1, tail=0.1)
    joined = tmp_path / "joined.wav"
    join_segments(wavs, 0.45, joined)
    source = tmp_path / "source.wav"
    run_ffmpeg(["-i", joined, "-af", f"volume={gain_db}dB", source], what="change level")
    out = tmp_path / "narration.wav"
    normalize(source, out)

    integrated, true_peak = ebur128(out)
    assert integrated == pytest.approx(-14, abs=1)
    assert true_peak <= -1
    assert audio_duration(out) == pytest.approx(audio_duration(source), abs=0.01)  # timings stay valid


def test_silence_cannot_be_normalised(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "2", silent], what="silence")
    with pytest.raises(SilentAudio, match="silent"):
        normalize(silent, tmp_path / "out.wav")


def test_music_bed_is_looped_ducked_under_the_voice_and_faded_out(tmp_path: Path) -> None:
    # voice: a 1 kHz "speaker" talking in 2 s bursts every 4 s for 16 s; music: a 3 s 300 Hz loop
    import numpy as np

    voice = tone(tmp_path / "voice.wav", 1000, 16, gate="lt(mod(t,4),2)")
    music = tone(tmp_path / "music.wav", 300, 3)
    before = voice.read_bytes()
    out = tmp_path / "mix.wav"
    mix_music(voice, music, out, music_db=-12, duration=16)

    assert voice.read_bytes() == before  # the narration stays voice only
    assert audio_duration(out) == pytest.approx(16, abs=0.05)  # the 3 s bed was looped to the voice's length
    integrated, true_peak = ebur128(out)
    assert integrated == pytest.approx(-14, abs=1) and true_peak <= -1
    x = samples(out)
    # music level while the voice speaks (t in [0.5, 1.5] + 4k) against while it pauses ([2.5, 3.5] + 4k)
    under_voice = np.mean([band_db(x, 300, 4 * k + 0.5, 4 * k + 1.5) for k in range(3)])
    in_pauses = np.mean([band_db(x, 300, 4 * k + 2.5, 4 * k + 3.5) for k in range(3)])
    assert in_pauses - under_voice > 6  # ducked by more than 6 dB
    assert band_db(x, 1000, 0.5, 1.5) > band_db(x, 300, 0.5, 1.5) + 10  # the voice stays on top
    assert band_db(x, 300, 15.6, 15.95) < in_pauses - 15  # faded out at the end
