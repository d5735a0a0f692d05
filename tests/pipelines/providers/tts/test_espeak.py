"""The offline voice espeak-ng (ctypes): real audio, real word timings."""

from __future__ import annotations

import wave
from itertools import pairwise
from pathlib import Path

import pytest

from pipelines.media.ffmpeg import audio_duration
from pipelines.providers.tts.base import TTSUnavailable
from pipelines.providers.tts.espeak import EspeakTTS
from pipelines.stages.audio import get_tts

CASES = [
    ("en-us", "The octopus has three hearts, and its blood is blue."),
    ("pt-br", "A Independência do Brasil foi proclamada em 1822."),
]


@pytest.mark.parametrize(("voice", "text"), CASES)
def test_synthesis_gives_audio_and_word_timings(tmp_path: Path, voice: str, text: str) -> None:
    out = tmp_path / "voice.wav"
    words = EspeakTTS(voice).synthesize(text, out)

    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
    duration = audio_duration(out)
    assert duration > 1.0
    assert abs(duration - words[-1].end) < 0.5

    # Every written word, in order, accents intact (numbers spoken as several words stay one).
    assert [w.text for w in words] == text.split()
    assert all(w.start < w.end for w in words)
    assert all(a.end <= b.start for a, b in pairwise(words))
    assert words[0].start < 0.5


def test_pause_at_a_full_stop_is_a_gap(tmp_path: Path) -> None:
    words = EspeakTTS("en-us").synthesize("It rained. Then the sun came out.", tmp_path / "v.wav")
    gaps = {a.text: b.start - a.end for a, b in pairwise(words)}
    assert gaps["rained."] > 0.1
    assert gaps["rained."] == max(gaps.values())


def test_faster_rate_is_shorter(tmp_path: Path) -> None:
    text = "Speed changes how long this sentence takes to say."
    slow = EspeakTTS("en-us", rate_wpm=120).synthesize(text, tmp_path / "slow.wav")
    fast = EspeakTTS("en-us", rate_wpm=260).synthesize(text, tmp_path / "fast.wav")
    assert fast[-1].end < slow[-1].end * 0.7


def test_factory_and_errors(tmp_path: Path) -> None:
    tts = get_tts("espeak", "en-us", "en", 170)
    assert isinstance(tts, EspeakTTS) and tts.rate_wpm == 170
    assert "not a human" in tts.description
    assert get_tts("espeak", None, "pt-BR", 160).voice == "pt-br"  # the language's voice by default
    with pytest.raises(ValueError, match="allowed: azure, espeak, piper"):
        get_tts("cloudvoice", "en-us", "en", 170)
    with pytest.raises(ValueError, match="no voice 'xx-nonexistent'"):
        EspeakTTS("xx-nonexistent").synthesize("hello", tmp_path / "x.wav")
    with pytest.raises(ValueError, match="empty"):
        EspeakTTS("en-us").synthesize("   ", tmp_path / "x.wav")


def test_missing_library_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.providers.tts import espeak as tts

    monkeypatch.setattr(tts, "_engine", None)
    monkeypatch.setattr(tts, "LIBRARY", "libespeak-ng-not-here.so.1")
    with pytest.raises(TTSUnavailable, match="apt-get install espeak-ng"):
        EspeakTTS("en-us").synthesize("hello", tmp_path / "x.wav")
