"""Task `audio` (checkpoint 2): narration with word timings. Each segment is voiced separately (so segment boundaries are
known exactly), trimmed of its edge silence and joined with an even pause and short fades, then
normalised to -14 LUFS, true peak under -1 dBTP (two passes). With `audio.music` a separate mix with the
music bed ducked under the voice is made for the render; narration.wav stays voice only (captions, QA)."""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines import costs
from pipelines import notes as review_notes
from pipelines.artifacts import (
    AudioOutput,
    Loudness,
    QAReport,
    ScriptOutput,
    Span,
    StoredScript,
    Timings,
    Word,
)
from pipelines.checkpoints import Checkpoint
from pipelines.db import Conn
from pipelines.media.audio_finish import Cut, ebur128, join_segments, mix_music, normalize
from pipelines.media.ffmpeg import audio_duration
from pipelines.production import Production
from pipelines.providers.tts.base import TTS, TTSUnavailable, WordTiming
from pipelines.providers.tts.espeak import EspeakTTS

log = logging.getLogger(__name__)
PAUSE = 0.45  # seconds of silence between segments


def _voice_all(
    tts: TTS, texts: list[str], out: Path, voiced: list[tuple[Path, list[WordTiming]]] | None = None
) -> list[tuple[Path, list[WordTiming]]]:
    """Each text voiced into its segment WAV, appended to `voiced` (so a failure leaves what was done)."""
    voiced = [] if voiced is None else voiced
    for i, text in enumerate(texts):
        wav = out / f"segment-{i:02d}.wav"
        voiced.append((wav, tts.synthesize(text, wav)))
    return voiced


def _place(words: list[WordTiming], cut: Cut, segment: int) -> list[Word]:
    """A segment's word timings moved to where the segment sits in the joined narration."""

    def at(t: float) -> float:
        return round(cut.offset + min(max(t - cut.trimmed, 0.0), cut.length), 3)

    return [Word(text=w.text, start=at(w.start), end=at(w.end), segment=segment) for w in words]


def _clip(item: Word | Span, duration: float) -> None:
    item.end = min(item.end, duration)
    item.start = min(item.start, item.end)


def offline_voice(language: str, rate_wpm: int) -> EspeakTTS:
    """The voice that works on every machine: espeak-ng in the channel's language."""
    from pipelines.config import LANGUAGES

    return EspeakTTS(LANGUAGES[language][1], rate_wpm)


def get_tts(provider: str, name: str | None, language: str, rate_wpm: int, style: str | None = None) -> TTS:
    """The voice for a channel's `voice:` settings. Azure without a key falls back to the offline voice."""
    if provider == "espeak":
        return EspeakTTS(name, rate_wpm) if name else offline_voice(language, rate_wpm)
    if provider == "piper":
        from pipelines.providers.tts.piper import PiperTTS

        return PiperTTS(name, language, rate_wpm)
    if provider == "azure":
        from pipelines.providers.tts.azure import azure_from_env

        azure = azure_from_env(name, style, language, rate_wpm)
        if azure is not None:
            return azure
        fallback = offline_voice(language, rate_wpm)
        log.warning(
            "voice.provider is azure but no key is set (Airflow connection azure_speech_default or "
            "AZURE_SPEECH_KEY): narrating with the offline voice %s instead",
            fallback.name,
        )
        return fallback
    raise ValueError(f"unknown TTS provider {provider!r}; allowed: azure, espeak, piper")


def _spent(p: Production, revision: int, tts: TTS, texts: list[str], failed: bool = False) -> None:
    """The characters sent to the voice (its provider: the module's name, azure, espeak or piper)."""
    provider = type(tts).__module__.rsplit(".", 1)[-1]
    price = p.cfg.costs.azure_tts_usd_per_million_chars
    chars = sum(len(t) for t in texts)
    costs.tts(p.id, f"audio:r{revision}:tts", provider, chars, price, voice=tts.name, failed=failed)


def narrate(p: Production, script_rel: str, revision: int, notes: str | None = None) -> AudioOutput:
    """Voice each stored segment into the revision's folder, join and normalise the narration (and mix the
    music bed), write timings.json; returns the artifacts, without QA. The offline voice stands in when
    the channel's is unavailable."""
    cfg = p.cfg
    out = p.stage_dir("audio", revision)
    script = StoredScript.load(p.abs(script_rel))
    rate = round(cfg.voice.rate_wpm * review_notes.read(notes).rate)  # "slower"/"faster" in review notes
    texts = [seg.text for seg in script.segments]
    tts = get_tts(cfg.voice.provider, cfg.voice.name, cfg.language, rate, cfg.voice.style)
    voiced: list[tuple[Path, list[WordTiming]]] = []
    try:
        _voice_all(tts, texts, out, voiced)
    except TTSUnavailable as e:
        if isinstance(tts, EspeakTTS):
            raise
        if voiced:  # the segments it voiced before failing were paid for
            _spent(p, revision, tts, texts[: len(voiced)], failed=True)
        tts = offline_voice(cfg.language, rate)
        log.warning(
            "voice %s failed (%s): narrating with the offline voice %s instead",
            cfg.voice.provider,
            e,
            tts.name,
        )
        voiced = _voice_all(tts, texts, out)
    _spent(p, revision, tts, texts)

    joined = out / "voice-joined.wav"
    cuts = join_segments([wav for wav, _ in voiced], PAUSE, joined)
    words = [
        w
        for i, ((_, timings), cut) in enumerate(zip(voiced, cuts, strict=True))
        for w in _place(timings, cut, i)
    ]
    spans = [
        Span(segment=i, start=cut.offset, end=round(cut.offset + cut.length, 3), file=p.rel(wav))
        for i, ((wav, _), cut) in enumerate(zip(voiced, cuts, strict=True))
    ]
    narration = out / "narration.wav"
    normalize(joined, narration)
    joined.unlink()
    duration = audio_duration(narration)
    timed: list[Word | Span] = [*words, *spans]
    for item in timed:  # resampling can shorten the audio by a few samples: stay inside it
        _clip(item, duration)
    integrated, true_peak = ebur128(narration)
    mix = out / "mix.wav" if cfg.audio.music_path else None
    if mix and cfg.audio.music_path:
        mix_music(narration, cfg.audio.music_path, mix, cfg.audio.music_db, duration)
    timings = Timings(
        voice=tts.description,
        duration=duration,
        loudness=Loudness(integrated_lufs=integrated, true_peak_dbtp=true_peak),
        words=words,
        segments=spans,
    ).save(out / "timings.json")
    log.info(
        "narration: %.1f s, %d words, %.1f LUFS, true peak %.1f dBTP, voice %s%s",
        duration,
        len(words),
        integrated,
        true_peak,
        tts.name,
        ", with music bed" if mix else "",
    )
    return AudioOutput(
        narration=p.rel(narration),
        duration=duration,
        voice=tts.description,
        rate_wpm=rate,
        **({"mix": p.rel(mix)} if mix else {}),
        timings=p.rel(timings),
    )


def audio_flags(timings: Timings, target_seconds: int, qa: QAReport | None = None) -> list[str]:
    """Problems a listener would notice: speech too fast or slow, silent segments, length far off target, and
    (audio QA) segments where Whisper heard something else than the script. Segments are numbered from 1, as
    on the page."""
    flags = []
    for span in timings.segments:
        words = timings.words_in(span.segment)
        dur = span.end - span.start
        if not words:
            flags.append(f"segment {span.segment + 1}: no speech detected")
        elif dur > 0 and not 1.5 <= len(words) / dur <= 4.5:
            flags.append(f"segment {span.segment + 1}: {len(words) / dur:.1f} words/s (expected 1.5-4.5)")
    if abs(timings.duration - target_seconds) > 0.25 * target_seconds:
        flags.append(f"length {timings.duration:.0f} s is more than 25% off the {target_seconds} s target")
    if qa and qa.status == "skipped":
        flags.append(f"audio QA skipped: {qa.reason}")
    if qa:
        flags += [
            f"segment {s.segment + 1}: heard differs from the script (WER {s.wer:.2f} > {qa.max_wer:.2f}): "
            f"{s.diff}"
            for s in qa.flagged
        ]
    return flags


def view(conn: Conn, p: Production, cp: Checkpoint) -> dict:
    """The audio checkpoint on the Review page: each segment's span, text, word count and QA; the flags."""
    audio = AudioOutput.of(cp)
    timings = audio.load_timings(p)
    script = ScriptOutput.approved(conn, p.id).load_script(p)
    heard = {s.segment: s.dump() for s in (audio.qa.segments or [])} if audio.qa else {}
    segments = [
        {
            "index": s.segment,
            "heading": script.segments[s.segment].heading,
            "text": script.segments[s.segment].text,
            "file": s.file,
            "start": s.start,
            "end": s.end,
            "duration": round(s.end - s.start, 2),
            "words": len(timings.words_in(s.segment)),
            "qa": heard.get(s.segment),
        }
        for s in timings.segments
    ]
    return {
        "narration": audio.narration,
        "duration": timings.duration,
        "voice": timings.voice,
        "segments": segments,
        "flags": audio_flags(timings, p.target_seconds, audio.qa),
        "qa": audio.qa.dump() if audio.qa else None,
    }


def produce(conn: Conn, p: Production, revision: int, notes: str | None) -> AudioOutput:
    """A revision of the narration, checked by audio QA (Whisper scores each segment against the script)."""
    from pipelines.audio_qa import check

    script = ScriptOutput.approved(conn, p.id).script
    audio = narrate(p, script, revision, notes)
    audio.qa = check(p, script, audio)
    return audio
