"""Narration: how fast the offline voices speak and what finishing costs, on this machine.

Voices the sample channel's source documents (40 words a segment, BENCH_SEGMENTS segments, default 10)
with espeak-ng and Piper, then joins and normalises each narration (-14 LUFS, true peak under -1 dBTP).
Prints per voice: synthesis time per second of audio, and the finishing time as a ratio against one plain
ffmpeg pass over the same audio (decode + resample + write) measured in the same run, plus the loudness
reached."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipelines.media.audio_finish import ebur128, join_segments, normalize  # noqa: E402
from pipelines.media.ffmpeg import audio_duration, run_ffmpeg  # noqa: E402
from pipelines.providers.tts.espeak import EspeakTTS  # noqa: E402
from pipelines.providers.tts.piper import PiperTTS  # noqa: E402

SEGMENTS = int(os.environ.get("BENCH_SEGMENTS", "10"))
WORDS = 40


def texts() -> list[str]:
    words = []
    for doc in sorted((REPO / "knowledge" / "sources" / "science_en").glob("*.md")):
        words += re.sub(r"[#*_`>]", "", doc.read_text(encoding="utf-8").split("---", 2)[2]).split()
    return [" ".join(words[i : i + WORDS]) for i in range(0, WORDS * SEGMENTS, WORDS)]


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="nicheflow-bench-audio-"))
    for name, tts in (
        ("espeak-ng en-us", EspeakTTS("en-us")),
        ("piper en_US-joe-medium", PiperTTS(None, "en")),
    ):
        tts.synthesize("Warming up.", out / "warm.wav")  # loads the voice: not part of the timing
        t = time.perf_counter()
        wavs = []
        for i, text in enumerate(texts()):
            wavs.append(out / f"{name[:5]}-{i:02d}.wav")
            tts.synthesize(text, wavs[-1])
        synth = time.perf_counter() - t
        seconds = sum(audio_duration(w) for w in wavs)
        t = time.perf_counter()
        joined = out / "joined.wav"
        join_segments(wavs, 0.45, joined)
        normalize(joined, out / "narration.wav")
        finish = time.perf_counter() - t
        t = time.perf_counter()
        run_ffmpeg(
            ["-i", joined, "-ar", "48000", "-c:a", "pcm_s16le", out / "copy.wav"], what="baseline pass"
        )
        baseline = time.perf_counter() - t
        lufs, peak = ebur128(out / "narration.wav")
        print(
            f"{name}: {seconds:.0f} s of speech; synthesis {synth / seconds:.3f} s per audio second; "
            f"finishing {finish / seconds:.3f} s per audio second = {finish / baseline:.0f}x one plain ffmpeg pass; "
            f"{lufs} LUFS, true peak {peak} dBTP"
        )


if __name__ == "__main__":
    main()
