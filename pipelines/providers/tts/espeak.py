"""espeak-ng, the offline voice that works on every machine (tts.base has the interface; the audio stage
picks the channel's voice).

espeak-ng runs through ctypes on libespeak-ng, driven in AUDIO_OUTPUT_SYNCHRONOUS mode: `espeak_Synth` returns once the whole
text is spoken, having called our callback with int16 samples and events. Each
espeakEVENT_WORD event carries the 1-based CHARACTER position (not byte offset) of the
word in the UTF-8 text and its audio position in ms. Events are mapped back onto the
whitespace-separated words of the text (a number such as "1822" yields several events,
one per spoken word; they all belong to the same written word). A word ends where the
next one starts, or earlier if the voice goes silent before that (a pause at a full stop),
so pauses show up as gaps between words.

The library keeps global state (one callback, one voice), so it is initialised once per
process and every synthesis holds a lock.
"""

from __future__ import annotations

import array
import bisect
import ctypes
import logging
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from pipelines.media.audio_finish import write_wav
from pipelines.providers.tts.base import TTSNotInstalled, WordTiming

log = logging.getLogger(__name__)

LIBRARY = "libespeak-ng.so.1"
INSTALL_HINT = (
    "install espeak-ng (Debian/Ubuntu: `apt-get install espeak-ng`), or run `make run`, which installs it"
)

# espeak_ng/speak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
ESPEAK_RATE = 1
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EE_OK = 0

SILENCE_LEVEL = 300  # |sample| below this counts as silence when trimming word ends
SILENCE_WINDOW = 0.01  # seconds
END_PAD = 0.04  # seconds kept after the last audible sound of a word


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),  # union { int number; const char *name; char string[8]; }
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass
class _Engine:
    lib: ctypes.CDLL
    sample_rate: int
    callback: object  # keeps the ctypes callback alive
    samples: array.array
    events: list[tuple[int, int]]  # (text_position, audio_position ms) of word events


_lock = threading.Lock()
_engine: _Engine | None = None


def _load() -> _Engine:
    """Load and initialise the library once; call with _lock held."""
    global _engine
    if _engine is not None:
        return _engine
    try:
        lib = ctypes.CDLL(LIBRARY)
    except OSError as e:
        raise TTSNotInstalled(f"cannot load {LIBRARY} ({e}); {INSTALL_HINT}") from None
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint),
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int

    sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
    if sample_rate <= 0:
        raise TTSNotInstalled(f"espeak_Initialize failed (its voice data is missing?); {INSTALL_HINT}")
    samples = array.array("h")
    events: list[tuple[int, int]] = []

    def on_synth(wav, n, evs) -> int:  # called by espeak_Synth, on this thread
        if wav and n > 0:
            samples.frombytes(ctypes.string_at(wav, n * 2))
        i = 0
        while evs[i].type != EVENT_LIST_TERMINATED:
            ev = evs[i]
            if ev.type == EVENT_WORD and ev.length > 0:
                events.append((ev.text_position, ev.audio_position))
            i += 1
        return 0  # continue

    callback = _SynthCallback(on_synth)
    lib.espeak_SetSynthCallback(callback)
    _engine = _Engine(lib, sample_rate, callback, samples, events)
    log.info("espeak-ng initialised (%d Hz)", sample_rate)
    return _engine


def _sound_end(samples: array.array, rate: int, start: float, end: float) -> float:
    """The time after the last audible sound within [start, end), plus a small pad."""
    step = max(1, int(rate * SILENCE_WINDOW))
    lo, hi = int(start * rate), min(len(samples), int(end * rate))
    pos = hi
    while pos > lo:
        window = samples[max(lo, pos - step) : pos]
        if max(window) > SILENCE_LEVEL or -min(window) > SILENCE_LEVEL:
            return min(end, pos / rate + END_PAD)
        pos -= step
    return min(end, start + END_PAD)


def word_timings(
    text: str, events: list[tuple[int, int]], samples: array.array, rate: int
) -> list[WordTiming]:
    """Map espeak word events (1-based char position, ms) onto the words of `text`."""
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    starts_idx = [t[0] for t in tokens]
    first_ms: dict[int, int] = {}  # token index -> time of its first spoken word
    for pos, ms in events:
        k = bisect.bisect_right(starts_idx, pos - 1) - 1
        if k >= 0 and k not in first_ms:
            first_ms[k] = ms
    spoken = sorted(first_ms)
    total = len(samples) / rate
    words: list[WordTiming] = []
    for j, k in enumerate(spoken):
        start = first_ms[k] / 1000
        nxt = first_ms[spoken[j + 1]] / 1000 if j + 1 < len(spoken) else total
        nxt = max(nxt, start)
        # Tokens espeak did not speak (a lone "—") stay with the preceding spoken word.
        last = spoken[j + 1] - 1 if j + 1 < len(spoken) else len(tokens) - 1
        first = 0 if j == 0 else k
        word = " ".join(t[2] for t in tokens[first : last + 1])
        words.append(WordTiming(word, round(start, 3), round(_sound_end(samples, rate, start, nxt), 3)))
    return words


class EspeakTTS:
    """The espeak-ng voice: offline, on every machine; the audio stage falls back to it."""

    name = "espeak-ng"
    description = "espeak-ng offline synthetic voice (robotic; not a human narrator)"

    def __init__(self, voice: str, rate_wpm: int = 165) -> None:
        self.voice = voice
        self.rate_wpm = rate_wpm

    def synthesize(self, text: str, out_wav: Path) -> list[WordTiming]:
        """Speak `text` into a mono 16-bit WAV at `out_wav`; return the timing of each word."""
        if not text.strip():
            raise ValueError("nothing to synthesize: the text is empty")
        data = text.encode("utf-8") + b"\0"
        with _lock:
            eng = _load()
            if eng.lib.espeak_SetVoiceByName(self.voice.encode()) != EE_OK:
                raise ValueError(f"espeak-ng has no voice {self.voice!r} (see `espeak-ng --voices`)")
            eng.lib.espeak_SetParameter(ESPEAK_RATE, int(self.rate_wpm), 0)
            del eng.samples[:]
            eng.events.clear()
            err = eng.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
            if err != EE_OK:
                raise RuntimeError(f"espeak_Synth failed with error {err}")
            samples, events = array.array("h", eng.samples), list(eng.events)
            rate = eng.sample_rate
        words = word_timings(text, events, samples, rate)
        pcm = array.array("h", samples)
        if sys.byteorder == "big":  # WAV is little-endian
            pcm.byteswap()
        write_wav(out_wav, pcm.tobytes(), rate)
        log.info(
            "espeak-ng (%s, %d wpm): %d words, %.2f s -> %s",
            self.voice,
            self.rate_wpm,
            len(words),
            len(samples) / rate,
            out_wav,
        )
        return words
