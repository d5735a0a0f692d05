"""Stage 5: narration with word timings. Each segment is voiced separately (so segment boundaries are
known exactly), trimmed of its edge silence and joined with an even pause and short fades, then
normalised to -14 LUFS, true peak under -1 dBTP (two passes). With `audio.music` a separate mix with the
music bed ducked under the voice is made for the render; narration.wav stays voice only (captions, QA)."""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines import notes as review_notes
from pipelines.media.audio_finish import Cut, ebur128, join_segments, mix_music, normalize
from pipelines.media.ffmpeg import audio_duration
from pipelines.production import Production, read_json, write_json
from pipelines.providers.tts import TTS, EspeakTTS, TTSUnavailable, WordTiming, get_tts, offline_voice
from pipelines.script import segment_text

log = logging.getLogger(__name__)
PAUSE = 0.45  # seconds of silence between segments


def _voice_all(tts: TTS, texts: list[str], out: Path) -> list[tuple[Path, list[WordTiming]]]:
    voiced = []
    for i, text in enumerate(texts):
        wav = out / f"segment-{i:02d}.wav"
        voiced.append((wav, tts.synthesize(text, wav)))
    return voiced


def _place(words: list[WordTiming], cut: Cut, segment: int) -> list[dict]:
    """A segment's word timings moved to where the segment sits in the joined narration."""

    def at(t: float) -> float:
        return round(cut.offset + min(max(t - cut.trimmed, 0.0), cut.length), 3)

    return [{"text": w.text, "start": at(w.start), "end": at(w.end), "segment": segment} for w in words]


def narrate(p: Production, script_rel: str, revision: int, notes: str | None = None) -> dict:
    cfg = p.cfg
    out = p.stage_dir("audio", revision)
    script = read_json(p.abs(script_rel))
    rate = round(cfg.voice.rate_wpm * review_notes.read(notes).rate)  # "slower"/"faster" in review notes
    texts = [segment_text(seg) for seg in script["segments"]]
    tts = get_tts(cfg.voice.provider, cfg.voice.name, cfg.language, rate, cfg.voice.style)
    try:
        voiced = _voice_all(tts, texts, out)
    except TTSUnavailable as e:
        if isinstance(tts, EspeakTTS):
            raise
        tts = offline_voice(cfg.language, rate)
        log.warning(
            "voice %s failed (%s): narrating with the offline voice %s instead",
            cfg.voice.provider,
            e,
            tts.name,
        )
        voiced = _voice_all(tts, texts, out)

    joined = out / "voice-joined.wav"
    cuts = join_segments([wav for wav, _ in voiced], PAUSE, joined)
    words = [
        w
        for i, ((_, timings), cut) in enumerate(zip(voiced, cuts, strict=True))
        for w in _place(timings, cut, i)
    ]
    spans = [
        {"segment": i, "start": cut.offset, "end": round(cut.offset + cut.length, 3), "file": p.rel(wav)}
        for i, ((wav, _), cut) in enumerate(zip(voiced, cuts, strict=True))
    ]
    narration = out / "narration.wav"
    normalize(joined, narration)
    joined.unlink()
    duration = audio_duration(narration)
    for item in (*words, *spans):  # resampling can shorten the audio by a few samples: stay inside it
        item["end"] = min(item["end"], duration)
        item["start"] = min(item["start"], item["end"])
    integrated, true_peak = ebur128(narration)
    artifacts = {
        "narration": p.rel(narration),
        "duration": duration,
        "voice": tts.description,
        "rate_wpm": rate,
    }
    if cfg.audio.music_path:
        mix = out / "mix.wav"
        mix_music(narration, cfg.audio.music_path, mix, cfg.audio.music_db, duration)
        artifacts["mix"] = p.rel(mix)
    timings = write_json(
        out / "timings.json",
        {
            "voice": tts.description,
            "duration": duration,
            "loudness": {"integrated_lufs": integrated, "true_peak_dbtp": true_peak},
            "words": words,
            "segments": spans,
        },
    )
    log.info(
        "narration: %.1f s, %d words, %.1f LUFS, true peak %.1f dBTP, voice %s%s",
        duration,
        len(words),
        integrated,
        true_peak,
        tts.name,
        ", with music bed" if "mix" in artifacts else "",
    )
    return {**artifacts, "timings": p.rel(timings)}
