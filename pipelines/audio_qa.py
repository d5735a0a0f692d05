"""Audio QA: Whisper listens to the narration and each segment is scored against the script.

Per segment: the word error rate (WER) of what Whisper heard against what the script says, after both are
normalised the same way (pipelines.media.wer). A segment above `audio_qa.max_wer` is flagged at the audio checkpoint
with a short diff. When the voice gave no word timings, Whisper's timings are mapped onto the script's words
for the captions. QA never fails a run: without a model it is skipped, and the reason is recorded.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pipelines.artifacts import AudioOutput, QAReport, QASegment, StoredScript, Timings, Word
from pipelines.config import AudioQA
from pipelines.media.align import onto_written
from pipelines.media.asr import HeardWord, ModelUnavailable, resolve_model, transcribe_spans
from pipelines.media.wer import compare, normalise
from pipelines.production import Production

log = logging.getLogger(__name__)


def caption_words(script_text: str, heard: list[HeardWord], span: dict, language: str) -> list[dict]:
    """Timings for the script's words of one segment, in timings.json's word format, from what Whisper
    heard: each written word takes the times of the heard words aligned to it; words Whisper missed share
    the time between their neighbours. Times stay inside the segment and in order."""
    tokens = script_text.split()
    words = onto_written(
        tokens,
        [normalise(t, language) for t in tokens],
        [(normalise(w.text, language), w.start, w.end) for w in heard],
        (span["start"], span["end"]),
    )
    return [{"text": w.text, "start": w.start, "end": w.end, "segment": span["segment"]} for w in words]


def check_narration(
    narration: Path, timings_path: Path, script: StoredScript, language: str, settings: AudioQA
) -> QAReport:
    """Score every segment of a narration; fill timings.json's words from Whisper when the voice gave none.
    Returns the QA record stored in the audio artifacts under `qa`."""
    if settings.model == "off":
        return QAReport(status="off")
    began = time.monotonic()
    timings = Timings.load(timings_path)
    spans, max_wer = timings.segments, settings.threshold(language)
    timed = {w.segment for w in timings.words}
    untimed = {
        s.segment for s in spans
    } - timed  # the voice gave no word timings: Whisper's serve the captions
    try:
        model_dir, model = resolve_model(settings.model, language, timing=bool(untimed))
        heard = transcribe_spans(narration, [(s.start, s.end) for s in spans], model_dir, language)
    except (ModelUnavailable, OSError, RuntimeError) as e:  # QA is advice: without it the run goes on
        log.warning("audio QA skipped: %s", e)
        return QAReport(status="skipped", reason=str(e), seconds=round(time.monotonic() - began, 2))
    segments = []
    for span, words in zip(spans, heard, strict=True):
        expected = script.segments[span.segment].text
        heard_text = "".join(w.text for w in words).strip()
        scored = QASegment(
            segment=span.segment,
            **compare(expected, heard_text, language),
            flagged=False,
            expected=expected,
            heard=heard_text,
        )
        scored.flagged = scored.wer > max_wer
        segments.append(scored)
    if untimed:
        timings.words = sorted(
            timings.words
            + [
                Word.model_validate(w)
                for seg, span, words in zip(segments, spans, heard, strict=True)
                if span.segment in untimed
                for w in caption_words(seg.expected, words, span.dump(), language)
            ],
            key=lambda w: (w.start, w.segment),
        )
        timings.word_timings = f"faster-whisper ({model}) for segments {', '.join(map(str, sorted(untimed)))}"
        timings.save(timings_path)
    seconds = round(time.monotonic() - began, 2)
    flagged = [s.segment for s in segments if s.flagged]
    log.info(
        "audio QA (%s): %d segments, %d over WER %.2f%s, %.1f s for %.1f s of audio",
        model,
        len(segments),
        len(flagged),
        max_wer,
        f" (segments {', '.join(map(str, flagged))})" if flagged else "",
        seconds,
        timings.duration,
    )
    return QAReport(status="checked", model=model, max_wer=max_wer, seconds=seconds, segments=segments)


def check(p: Production, script_rel: str, audio: AudioOutput) -> QAReport:
    """QA of a production's narration (the audio stage's artifacts), with the channel's settings."""
    return check_narration(
        p.abs(audio.narration),
        p.abs(audio.timings),
        StoredScript.load(p.abs(script_rel)),
        p.cfg.language,
        p.cfg.audio_qa,
    )
