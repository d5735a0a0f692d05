"""Stage 5: narration with word timings. Each segment is voiced separately (so segment boundaries are
known exactly), joined with a short pause, and loudness-normalised to -16 LUFS in one ffmpeg pass."""

from __future__ import annotations

import logging
import wave
from pathlib import Path

from pipelines import notes as review_notes
from pipelines.media.ffmpeg import audio_duration, run_ffmpeg
from pipelines.production import Production, read_json, write_json
from pipelines.providers.tts import get_tts
from pipelines.script import segment_text

log = logging.getLogger(__name__)
PAUSE = 0.35  # seconds of silence between segments


def _silence(path: Path, seconds: float, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * round(seconds * rate))
    return path


def narrate(p: Production, script_rel: str, revision: int, notes: str | None = None) -> dict:
    cfg = p.cfg
    out = p.stage_dir("audio", revision)
    script = read_json(p.abs(script_rel))
    rate = round(cfg.voice.rate_wpm * review_notes.read(notes).rate)  # "slower"/"faster" in review notes
    tts = get_tts(cfg.voice.provider, cfg.voice_name, rate)
    parts: list[Path] = []
    words: list[dict] = []
    spans: list[dict] = []
    t = 0.0
    for i, seg in enumerate(script["segments"]):
        wav = out / f"segment-{i:02d}.wav"
        timings = tts.synthesize(segment_text(seg), wav)
        dur = audio_duration(wav)
        words.extend({"text": w.text, "start": round(t + w.start, 3), "end": round(t + w.end, 3), "segment": i}
                     for w in timings)
        spans.append({"segment": i, "start": round(t, 3), "end": round(t + dur, 3), "file": p.rel(wav)})
        parts.append(wav)
        t += dur
        if i < len(script["segments"]) - 1:
            with wave.open(str(wav)) as w:
                rate = w.getframerate()
            parts.append(_silence(out / f"pause-{i:02d}.wav", PAUSE, rate))
            t += PAUSE
    narration = out / "narration.wav"
    inputs = [a for part in parts for a in ("-i", str(part))]
    graph = "".join(f"[{i}:a]" for i in range(len(parts))) + \
        f"concat=n={len(parts)}:v=0:a=1,loudnorm=I=-16:TP=-1.5:LRA=11,aresample=48000[a]"
    run_ffmpeg([*inputs, "-filter_complex", graph, "-map", "[a]", "-ac", "1", "-c:a", "pcm_s16le",
                str(narration)], what="join and loudness-normalise the narration")
    duration = audio_duration(narration)
    for item in (*words, *spans):  # resampling can shorten the join by a few samples: stay inside the audio
        item["end"] = min(item["end"], duration)
        item["start"] = min(item["start"], item["end"])
    timings = write_json(out / "timings.json", {"voice": tts.description, "duration": duration,
                                                 "words": words, "segments": spans})
    log.info("narration: %.1f s, %d words, voice %s", duration, len(words), tts.name)
    return {"narration": p.rel(narration), "timings": p.rel(timings), "duration": duration, "voice": tts.description,
            "rate_wpm": rate}
