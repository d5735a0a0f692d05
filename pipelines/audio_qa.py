"""Audio QA: Whisper listens to the narration and each segment is scored against the script.

Per segment: the word error rate (WER) of what Whisper heard against what the script says, after both are
normalised the same way (case, punctuation, numbers spelled out, a few spelling variants). A segment above
`audio_qa.max_wer` is flagged at the audio checkpoint with a short diff. When the voice gave no word timings,
Whisper's timings are mapped onto the script's words for the captions. QA never fails a run: without a model
it is skipped, and the reason is recorded.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from pipelines.artifacts import AudioOutput, QAReport, QASegment, StoredScript, Timings, Word
from pipelines.config import AudioQA
from pipelines.media.asr import HeardWord, ModelUnavailable, resolve_model, transcribe_spans
from pipelines.production import Production

log = logging.getLogger(__name__)

_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)(st|nd|rd|th|º|ª)?(%?)")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_SPELLING = {
    "en": [
        (re.compile(r"(?<=\w{3})tre(s?)$"), r"ter\1"),  # kilometre -> kilometer
        (re.compile(r"(?<=\w{3})is(e|es|ed|ing|ation|ations)$"), r"iz\1"),
    ]
}  # organise -> organize
_PERCENT = {"en": " percent", "pt-BR": " por cento"}
DIFF_CHUNKS = 3


def _number(m: re.Match, language: str) -> str:
    from num2words import num2words

    digits, ordinal, percent = m.groups()
    year = language == "en" and digits.isdigit() and 1100 <= int(digits) <= 1999  # said "nineteen sixty-nine"
    thousands, decimal = (",", ".") if language == "en" else (".", ",")
    if re.fullmatch(rf"\d{{1,3}}(\{thousands}\d{{3}})+(\{decimal}\d+)?", digits):
        digits = digits.replace(thousands, "")
    digits = digits.replace(decimal, ".")
    if digits.count(".") > 1:  # not a number (a version, a date): read its digit groups one by one
        return " ".join(_number(_NUMBER.match(g), language) for g in digits.split("."))
    if len(digits) > 15:  # an identifier, not a quantity: as written
        return f" {digits} "
    lang = "en" if language == "en" else "pt_BR"
    value = float(digits) if "." in digits else int(digits)
    if ordinal:
        words = num2words(int(value), lang=lang, to="ordinal")
    elif year:
        words = num2words(value, lang=lang, to="year")
    else:
        words = num2words(value, lang=lang)
    return f" {words}{_PERCENT[language] if percent else ''} "


def normalise(text: str, language: str) -> list[str]:
    """The words of `text` as compared: lower case, no punctuation, numbers in words, one spelling."""
    text = _NUMBER.sub(lambda m: _number(m, language), text.lower()).replace("%", _PERCENT[language])
    words = [w.replace("'", "") for w in _WORD.findall(text.replace("-", " "))]
    for pattern, repl in _SPELLING.get(language, []):
        words = [pattern.sub(repl, w) for w in words]
    return words


def align(expected: list[str], heard: list[str]) -> list[tuple[int | None, int | None]]:
    """A minimum-edit alignment: pairs (expected index, heard index); None on the side a word is missing."""
    n, m = len(expected), len(heard)
    cost = [[i + j if i * j == 0 else 0 for j in range(m + 1)] for i in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(
                cost[i - 1][j - 1] + (expected[i - 1] != heard[j - 1]), cost[i - 1][j] + 1, cost[i][j - 1] + 1
            )
    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (expected[i - 1] != heard[j - 1]):
            i, j = i - 1, j - 1
            pairs.append((i, j))
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
            pairs.append((i, None))
        else:
            j -= 1
            pairs.append((None, j))
    return pairs[::-1]


def compare(expected_text: str, heard_text: str, language: str) -> dict:
    """WER of what was heard against what was expected, and a short diff of the differing words."""
    expected, heard = normalise(expected_text, language), normalise(heard_text, language)
    pairs = align(expected, heard)
    errors = sum(1 for i, j in pairs if i is None or j is None or expected[i] != heard[j])
    chunks: list[tuple[list[str], list[str]]] = []
    same = True
    for i, j in pairs:
        if i is not None and j is not None and expected[i] == heard[j]:
            same = True
            continue
        if same:
            chunks.append(([], []))
            same = False
        chunks[-1][0].extend([expected[i]] if i is not None else [])
        chunks[-1][1].extend([heard[j]] if j is not None else [])
    diff = "; ".join(
        f"expected \u201c{' '.join(e)}\u201d, heard \u201c{' '.join(h)}\u201d"
        if e and h
        else f"missing \u201c{' '.join(e)}\u201d"
        if e
        else f"extra \u201c{' '.join(h)}\u201d"
        for e, h in chunks[:DIFF_CHUNKS]
    ) + ("; \u2026" if len(chunks) > DIFF_CHUNKS else "")
    return {"wer": round(errors / max(1, len(expected)), 3), "diff": diff}


def caption_words(script_text: str, heard: list[HeardWord], span: dict, language: str) -> list[dict]:
    """Timings for the script's words of one segment, in timings.json's word format, from what Whisper
    heard: each written word takes the times of the heard words aligned to it; words Whisper missed share
    the time between their neighbours. Times stay inside the segment and in order."""
    written: list[str] = []
    for token in script_text.split():  # a token with nothing to say (a dash) stays with its neighbour
        if written and not normalise(token, language):
            written[-1] += f" {token}"
        else:
            written.append(token)
    ref = [(w, k) for k, token in enumerate(written) for w in normalise(token, language)]
    hyp = [(w, j) for j, word in enumerate(heard) for w in normalise(word.text, language)]
    times: list[list[float]] = [[] for _ in written]
    for i, j in align([w for w, _ in ref], [w for w, _ in hyp]):
        if i is not None and j is not None:
            times[ref[i][1]] += [heard[hyp[j][1]].start, heard[hyp[j][1]].end]
    words: list[dict] = []
    k = 0
    while k < len(written):
        if times[k]:
            start = max(min(times[k]), words[-1]["end"] if words else span["start"])
            words.append(_word(written[k], start, max(times[k]), span))
            k += 1
            continue
        run_end = next((n for n in range(k, len(written)) if times[n]), len(written))
        lo = words[-1]["end"] if words else span["start"]
        hi = max(lo, min(times[run_end]) if run_end < len(written) else span["end"])
        step = (hi - lo) / (run_end - k)
        words += [
            _word(written[n], lo + (n - k) * step, lo + (n - k + 1) * step, span) for n in range(k, run_end)
        ]
        k = run_end
    return words


def _word(text: str, start: float, end: float, span: dict) -> dict:
    start = min(max(start, span["start"]), span["end"])
    return {
        "text": text,
        "start": round(start, 3),
        "end": round(min(max(end, start), span["end"]), 3),
        "segment": span["segment"],
    }


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
