"""Piper with its packaged English voice: real audio, real word timings."""

from __future__ import annotations

import statistics
import wave
from itertools import pairwise
from pathlib import Path

import pytest

from pipelines.media.ffmpeg import audio_duration
from pipelines.providers.tts.piper import PiperTTS
from pipelines.stages.audio import get_tts

PIPER_TEXT = (
    "In 1969, Apollo 11 landed on the Moon. Neil Armstrong's first words were \"That's one small step\" "
    "— for man! The crew of three returned to Earth after eight days in space."
)


def test_piper_speaks_english_with_word_timings(tmp_path: Path) -> None:
    out = tmp_path / "piper.wav"
    tts = get_tts("piper", None, "en", 165)
    words = tts.synthesize(PIPER_TEXT, out)

    assert isinstance(tts, PiperTTS) and "Piper" in tts.description and "not a human" in tts.description
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
    duration = audio_duration(out)
    # every written word, in order (the unspoken "—" rides with the word before it; "1969" is one word)
    assert " ".join(w.text for w in words) == " ".join(PIPER_TEXT.split())
    assert [w.text for w in words][:3] == ["In", "1969,", "Apollo"] and 'step" —' in [w.text for w in words]
    assert all(0 <= w.start < w.end <= duration for w in words)
    assert all(a.end <= b.start for a, b in pairwise(words))  # monotonic, no overlap
    assert words[-1].end > duration - 0.5  # the last word ends where the speech ends
    assert words[1].end - words[1].start > 4 * (
        words[0].end - words[0].start
    )  # "nineteen sixty-nine" vs "in"
    gaps = {a.text: b.start - a.end for a, b in pairwise(words)}
    typical = statistics.median(gaps.values())  # Piper's timing varies a little from run to run
    assert gaps["Moon."] > 1.5 * typical and gaps["man!"] > 1.5 * typical  # a sentence end is a pause


def test_piper_words_sit_on_sound(tmp_path: Path) -> None:
    import numpy as np

    out = tmp_path / "piper.wav"
    words = PiperTTS(None, "en").synthesize(PIPER_TEXT, out)
    with wave.open(str(out)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
        rate = w.getframerate()
    whole = np.sqrt(np.mean(x**2))
    for w in words:
        inside = x[round(w.start * rate) : round(w.end * rate)]
        assert np.sqrt(np.mean(inside**2)) > whole / 12, w  # a soft "of" is still over -22 dB of the average
    # between "Moon." and "Neil" (a sentence break) it is much quieter than in the words
    i = next(k for k, w in enumerate(words) if w.text == "Moon.")
    pause = x[round(words[i].end * rate) : round(words[i + 1].start * rate)]
    assert np.sqrt(np.mean(pause**2)) < whole / 12


def test_piper_rate_and_errors(tmp_path: Path) -> None:
    text = "Speed changes how long this sentence takes to say."
    slow = PiperTTS(None, "en", rate_wpm=120).synthesize(text, tmp_path / "slow.wav")
    fast = PiperTTS(None, "en", rate_wpm=240).synthesize(text, tmp_path / "fast.wav")
    assert fast[-1].end < slow[-1].end * 0.7
    with pytest.raises(
        ValueError, match="no Piper voice for language 'pt-BR'.*use voice.provider: espeak or azure"
    ):
        get_tts("piper", None, "pt-BR", 160)
    with pytest.raises(ValueError, match="unknown Piper voice 'en_GB-nobody'; installed: en_US-joe-medium"):
        PiperTTS("en_GB-nobody", "en")
