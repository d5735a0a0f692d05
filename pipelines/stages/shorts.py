"""Task `shorts` (the Shorts DAG): choose the runs of a published long-form's script that stand on their own,
and publish each as a 9:16 Short made from the production's own narration, word timings and visuals (so
cuts fall on sentence ends and captions are re-timed exactly). No checkpoint: the long-form was approved.

A Short is a run of whole sentences of the script's body (never the intro, the writer's "here is what the
sources say", nor the closing with the sources; see artifacts.segment_roles), at most `shorts.max_seconds`
and at least MIN_SECONDS long (or the whole body, when it is shorter). Each run is scored for standing
alone (see `score`): it opens on a strong, self-contained fact (a number, a superlative, a name), needs
nothing said before it ("This…", "As we saw…", "Isso…", "Como vimos…"; such runs are only taken when
nothing else can be), and ends on a complete thought (not on a sentence that points ahead, nor just before
one that points back at it). The `shorts.count` best runs that do not overlap are chosen; the choice, its
score and its reasons are published with the Short (the outbox's metadata.json, the upload record). The
first seconds show a hook line: the opening fact's key phrase, or Groq's line when the channel writes
with Groq (falling back to the key phrase when Groq fails)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.text import entities
from pipelines import costs, logfields, uploads
from pipelines.artifacts import (
    AudioOutput,
    ScriptOutput,
    StoredScript,
    TimedSentence,
    Timings,
    sentence_times,
)
from pipelines.db import Conn
from pipelines.files import read_json, write_json
from pipelines.media.captions import build_cues, write_ass
from pipelines.media.render import Scene, render_video
from pipelines.metadata import clean, fit_description, fit_tags, fit_title
from pipelines.production import Production, production_db
from pipelines.providers.publish.base import PublishItem
from pipelines.stages.final import scenes_for, words_of
from pipelines.stages.publish import publish_item, slot_for
from pipelines.stages.shorts_visuals import portrait_visuals

if TYPE_CHECKING:
    from pipelines.providers.writer.groq import GroqWriter

log = logging.getLogger(__name__)
SIZE = (1080, 1920)
MIN_SECONDS = 15.0  # a shorter run is no Short, unless it is all the body there is
LEAD = 0.1  # seconds of audio kept before a Short's first word...
TAIL = 0.35  # ...and after its last one (never into the neighbouring sentences)
HOOK_WORDS = 6  # the offline hook line: the opening fact's key phrase, in about this many words


# --- what makes a sentence stand alone, per language ---------------------------------------------------


@dataclass(frozen=True)
class _Words:
    refers: frozenset[str]  # an opening word that points at something said before ("This", "Isso")
    refers_openings: tuple[str, ...]  # first words that do ("The same…", "O mesmo…")
    refers_phrases: tuple[str, ...]  # anywhere in the opening sentence ("as we saw", "como vimos")
    connectives: frozenset[str]  # an opening that continues a thought ("But", "Also", "Mas", "Também")
    superlatives: frozenset[str]
    not_superlative: frozenset[str]  # words ending like a superlative that are none ("forest")
    spelled_numbers: frozenset[str]
    forward: tuple[str, ...]  # a sentence that points ahead ("coming up", "a seguir")
    function: frozenset[str]  # a key phrase neither starts nor ends on one of these
    joins: frozenset[str]  # a key phrase stays inside the clause before one of these
    of: frozenset[str]  # ...and rather not end just before one of these ("the first | of its kind")
    months: frozenset[str]


_EN = _Words(
    refers=frozenset(
        "this that these those it its it's they their them he she his her him such here's".split()
    ),
    refers_openings=("the former", "the latter", "the same", "here is", "there he", "there she"),
    refers_phrases=(
        "as we saw",
        "as we've seen",
        "as we have seen",
        "as we said",
        "as mentioned",
        "as noted",
        "as discussed",
        "mentioned earlier",
        "mentioned above",
        "said earlier",
    ),
    connectives=frozenset(
        "but however also and so then still yet meanwhile later afterwards again moreover furthermore "
        "besides instead thus therefore nevertheless nonetheless finally another too or".split()
    ),
    superlatives=frozenset(
        "largest biggest smallest oldest youngest newest highest tallest longest shortest fastest slowest "
        "deepest heaviest lightest brightest farthest furthest greatest earliest hottest coldest strongest "
        "richest closest nearest best worst most least first only record".split()
    ),
    not_superlative=frozenset(
        "forest interest west harvest contest protest request test rest quest chest nest guest crest pest "
        "vest honest modest manifest conquest suggest arrest invest digest priest midwest southwest "
        "northwest".split()
    ),
    spelled_numbers=frozenset(
        "hundred hundreds thousand thousands million millions billion billions".split()
    ),
    forward=(
        "coming up",
        "below",
        "the following",
        "let's see",
        "let us see",
        "we'll see",
        "we will see",
        "find out",
        "stay tuned",
        "here's how",
        "here is how",
        "more on that",
        "in a moment",
    ),
    function=frozenset(
        "the a an of in on at by to for from with and or but as is was were are be been has had have that "
        "which who what its his her their this these those it into than then".split()
    ),
    joins=frozenset("and but which that who whose while where when".split()),
    of=frozenset({"of"}),
    months=frozenset(
        "january february march april may june july august september october november december".split()
    ),
)
_PT = _Words(
    refers=frozenset(
        "isso isto este esta estes estas esse essa esses essas aquele aquela aqueles aquelas aquilo ele ela "
        "eles elas dele dela deles delas seu sua seus suas nisso disso desse dessa deste desta nesse nessa "
        "neste nesta daquele daquela".split()
    ),
    refers_openings=("o mesmo", "a mesma", "os mesmos", "as mesmas", "mais tarde"),
    refers_phrases=(
        "como vimos",
        "como já vimos",
        "como dissemos",
        "como já dissemos",
        "como mencionado",
        "como já mencionado",
        "como falamos",
        "já mencionad",
    ),
    connectives=frozenset(
        "mas porém também e então depois ainda contudo entretanto todavia assim portanto além outro outra "
        "outros outras finalmente logo enfim ou".split()
    ),
    superlatives=frozenset(
        "maior maiores menor menores melhor melhores pior piores primeiro primeira primeiros primeiras "
        "único única únicos únicas recorde".split()
    ),
    not_superlative=frozenset(),
    spelled_numbers=frozenset("cem centenas mil milhares milhão milhões bilhão bilhões".split()),
    forward=(
        "a seguir",
        "vamos ver",
        "veremos",
        "descubra",
        "mais adiante",
        "logo mais",
        "daqui a pouco",
        "em breve",
    ),
    function=frozenset(
        "o a os as um uma de do da dos das em no na nos nas por pelo pela com para e ou mas que foi é era "
        "são se seu sua ao à".split()
    ),
    joins=frozenset("e mas que quem cujo cuja enquanto onde quando".split()),
    of=frozenset("de do da dos das".split()),
    months=frozenset(
        "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro".split()
    ),
)


def _words_for(language: str) -> _Words:
    return _PT if language.casefold().startswith("pt") else _EN


def _bare(token: str) -> str:
    return token.strip(".,;:!?()[]{}\"'“”‘’«»—–-…").casefold()


def _has_phrase(text: str, phrases: Sequence[str]) -> str | None:
    folded = " ".join(_bare(t) for t in text.split())
    return next((p for p in phrases if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", folded)), None)


def _superlatives(tokens: list[str], w: _Words) -> list[int]:
    """Indexes of the tokens that make a superlative ("largest", "first", "o maior", "a mais antiga")."""
    bare = [_bare(t) for t in tokens]
    out = []
    for i, b in enumerate(bare):
        before = bare[i - 1] if i else ""
        if b in w.superlatives:
            out.append(i)
        elif w is _EN and b.endswith("est") and len(b) > 5 and b not in w.not_superlative:
            if before in {"the", "its", "their", "world's"}:
                out.append(i)
        elif w is _PT and (b.endswith(("íssimo", "íssima", "íssimos", "íssimas"))):
            out.append(i)
        elif w is _PT and b == "mais" and i + 1 < len(bare) and bare[i + 1] not in {"de", "do", "da", "que"}:
            if before in {"o", "a", "os", "as"} or (i > 1 and bare[i - 2] in {"o", "a", "os", "as"}):
                out.append(i)
    return out


def _numbers(tokens: list[str], w: _Words) -> list[int]:
    return [i for i, t in enumerate(tokens) if any(c.isdigit() for c in t) or _bare(t) in w.spelled_numbers]


def _names(text: str) -> list[str]:
    return [e for e in entities(text) if not e.isdigit()]


# --- scoring a run -------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def needs_context(text: str, language: str) -> str | None:
    """Why a sentence cannot open a Short: it points at something said before it (its first word, or a
    phrase such as "as we saw"); None when it can."""
    w = _words_for(language)
    tokens = text.split()
    first = _bare(tokens[0]) if tokens else ""
    if first in w.refers:
        return f"opens with {tokens[0].strip('.,;:')!r}, which needs what was said before"
    opening = " ".join(_bare(t) for t in tokens[:3])
    phrase = next((o for o in w.refers_openings if opening.startswith(o + " ")), None)
    if phrase := phrase or _has_phrase(text, w.refers_phrases):
        return f"says {phrase!r}, which needs what was said before"
    return None


@lru_cache(maxsize=4096)
def _carries_on(text: str, language: str) -> bool:
    """The sentence continues the one before it: it needs it, or opens with a connective ("But", "Mas")."""
    tokens = text.split()
    return bool(needs_context(text, language)) or bool(
        tokens and _bare(tokens[0]) in _words_for(language).connectives
    )


Points = tuple[tuple[float, str], ...]  # (points, why) for each thing that scored


@lru_cache(maxsize=4096)
def _as_opening(text: str, cites: bool, language: str) -> Points:
    """What a sentence is worth as a Short's first: a number, a superlative, a name, a cited fact; less when
    it needs what was said before or carries on from it."""
    w = _words_for(language)
    tokens = text.split()
    out: list[tuple[float, str]] = []
    if nums := _numbers(tokens, w):
        out.append((3, f"opens with a number: {', '.join(_bare(tokens[i]) for i in nums[:3])}"))
    if sups := _superlatives(tokens, w):
        out.append((3, f"opens with a superlative: {', '.join(_bare(tokens[i]) for i in sups[:3])}"))
    if names := _names(text):
        out.append((2, f"opens with a name: {', '.join(names[:3])}"))
    out.append((1, "opens on a sourced fact") if cites else (-1, "opens on a sentence that states no fact"))
    if why := needs_context(text, language):
        out.append((-6, why))
    elif _carries_on(text, language):
        out.append((-3, f"opens with {tokens[0].strip('.,;:')!r}, which carries on from before"))
    return tuple(out)


@lru_cache(maxsize=4096)
def _points_ahead(text: str, language: str) -> bool:
    """The sentence leaves its thought open: it ends on a colon, a question or an ellipsis, or announces what
    comes next ("coming up", "a seguir")."""
    return text.rstrip().endswith((":", "?", "…", "...")) or bool(
        _has_phrase(text, _words_for(language).forward)
    )


def score(
    run: Sequence[TimedSentence],
    language: str,
    max_seconds: float,
    after: TimedSentence | None = None,
    seconds: float | None = None,
) -> tuple[float, list[str]]:
    """How well a run of sentences stands alone as a Short, and why: (score, reasons), each reason naming
    what scored and by how much. It opens on a strong, self-contained fact (see _as_opening), ends on a
    complete thought (not on a sentence that points ahead, nor just before `after`, the next sentence of
    the script, when that one carries on from it; best at the end of a segment), and fills the time.
    `seconds`: the Short's length (else the run's, first word to last)."""
    first, last = run[0], run[-1]
    parts = list(_as_opening(first.text, first.cites, language))
    if _points_ahead(last.text, language):
        parts.append((-3, "ends on a sentence that points ahead"))
    if after is not None and _carries_on(after.text, language):
        parts.append((-2, "ends just before a sentence that carries on from it"))
    elif last.last_of_segment:
        parts.append((0.5, "ends where its segment ends"))
    seconds = last.end - first.start if seconds is None else seconds
    parts.append(
        (round(2 * min(seconds, max_seconds) / max_seconds, 2), f"{seconds:.1f} s of {max_seconds:g} s")
    )
    return round(sum(p for p, _ in parts), 2), [f"{p:+g} {why}" for p, why in parts]


@dataclass(frozen=True)
class Choice:
    """A run of sentences chosen for a Short: its cut (seconds into the narration), score and reasons."""

    start: float
    end: float
    sentences: tuple[TimedSentence, ...]
    score: float
    reasons: tuple[str, ...]
    hook: str = ""

    def record(self) -> dict[str, Any]:
        """What is published with the Short about its choice."""
        return {
            "start": self.start,
            "end": self.end,
            "score": self.score,
            "reasons": list(self.reasons),
            "sentences": [
                {"segment": s.segment, "sentence": s.index, "text": s.text} for s in self.sentences
            ],
            "hook": self.hook,
        }


def choose(
    script: StoredScript,
    timings: Timings,
    max_seconds: float,
    count: int,
    min_seconds: float = MIN_SECONDS,
    language: str | None = None,
) -> list[Choice]:
    """The `count` best runs of whole body sentences that do not overlap, best first: each at most
    max_seconds and at least min_seconds long (or the whole body, if shorter). The body ends on its last
    sentence that states a fact (not on a sign-off). A run whose opening needs what was said before is
    taken only when no other run can make a Short, and then only one."""
    language = language or script.language or "en"
    roles = script.roles()
    timed = sentence_times(script, timings)
    body = [s for s in timed if roles[s.segment] == "body"]
    while len(body) > 1 and not body[-1].cites:  # a sign-off at the end of the last body segment
        body.pop()
    if not body or count <= 0:
        return []
    cuts = _cuts(timed, timings.duration)
    whole = cuts[body[-1]][1] - cuts[body[0]][0]
    shortest = min(min_seconds, whole, max_seconds)
    candidates: list[tuple[float, int, int, list[str]]] = []  # (score, first, last, reasons), body indexes
    for i in range(len(body)):
        for j in range(i, len(body)):
            seconds = cuts[body[j]][1] - cuts[body[i]][0]
            if seconds > max_seconds:
                break
            if seconds < shortest - 1e-6:
                continue
            after = body[j + 1] if j + 1 < len(body) else None  # the body is one stretch of the script
            points, reasons = score(body[i : j + 1], language, max_seconds, after, seconds)
            candidates.append((points, i, j, reasons))
    standalone = [c for c in candidates if not needs_context(body[c[1]].text, language)]
    pool, most = (standalone, count) if standalone else (candidates, 1)  # one Short rather than none
    pool.sort(key=lambda c: (-c[0], c[1], -c[2]))
    chosen: list[tuple[float, int, int, list[str]]] = []
    for c in pool:
        if len(chosen) == most:
            break
        if all(c[2] < o[1] or c[1] > o[2] for o in chosen):
            chosen.append(c)
    if not chosen:
        log.warning("no run of the script's body fits a Short of %g-%g s", shortest, max_seconds)
    elif not standalone:
        log.warning("every run of the script's body opens on what was said before: taking the best of them")
    return [
        Choice(
            start=cuts[body[i]][0],
            end=cuts[body[j]][1],
            sentences=tuple(body[i : j + 1]),
            score=points,
            reasons=tuple(reasons),
        )
        for points, i, j, reasons in chosen
    ]


def _cuts(timed: list[TimedSentence], duration: float) -> dict[TimedSentence, tuple[float, float]]:
    """Where to cut before and after each sentence: up to LEAD before its first word and TAIL after its last,
    inside the narration; two neighbours share the point between them (a sentence's cut ends where the
    next one's starts, or before), so runs that do not share a sentence do not overlap."""
    out: dict[TimedSentence, tuple[float, float]] = {}
    start = max(timed[0].start - LEAD, 0.0) if timed else 0.0
    for k, s in enumerate(timed):
        following = timed[k + 1].start - LEAD if k + 1 < len(timed) else duration
        end = min(s.end + TAIL, max(s.end, following), duration)
        out[s] = (round(start, 3), round(end, 3))
        if k + 1 < len(timed):
            start = max(timed[k + 1].start - LEAD, end)
    return out


# --- the hook line -------------------------------------------------------------------------------------


def key_phrase(text: str, language: str, max_words: int = HOOK_WORDS) -> str:
    """The opening fact's key phrase, for the hook line: the few words (at most max_words + 1) of one clause
    that hold most of its number, superlative and names, neither starting nor ending on a function word
    nor inside a name ("Largest planet in the Solar System", "7 de setembro de 1822")."""
    w = _words_for(language)
    tokens = text.split()
    if not tokens:
        return ""
    name_words = {_bare(x) for n in _names(text) for x in n.split()}
    named = {i for i, t in enumerate(tokens) if t[:1].isupper() and _bare(t) in name_words}
    facts = [set(_numbers(tokens, w)), set(_superlatives(tokens, w))]
    dated = facts[0] | {k for k, t in enumerate(tokens) if _bare(t) in w.months}
    glued = {  # k: tokens k and k + 1 are one date or amount ("7 de setembro de 1822", "20 July 1969")
        k
        for k in range(len(tokens) - 1)
        if (k in dated and k + 1 in dated)
        or (k in dated and _bare(tokens[k + 1]) in w.of and k + 2 in dated)
        or (k - 1 in dated and _bare(tokens[k]) in w.of and k + 1 in dated)
    }
    clause = [0]  # the clause of each token: a new one after , ; : ) or a dash, and at "and", "que"…
    for t, nxt in zip(tokens, tokens[1:], strict=False):
        year = t[:-1].isdigit() and t.endswith(",") and nxt.rstrip(".,;:").isdigit()  # "April 24, 1990"
        ends = not year and (t.endswith((",", ";", ":", ")")) or t in {"—", "–", "-"} or nxt.startswith("("))
        clause.append(clause[-1] + (ends or _bare(nxt) in w.joins))

    def points(i: int, j: int) -> float:
        n, inside = j - i + 1, j + 1 < len(tokens) and clause[j + 1] == clause[j]  # the clause goes on
        numbers, superlatives = (len(kind.intersection(range(i, j + 1))) for kind in facts)
        gain = (3 + numbers - 1 if numbers else 0) + (3.5 + superlatives - 1 if superlatives else 0)
        gain += min(2, len(named.intersection(range(i, j + 1)))) + 0.1 * n - 0.15 * max(0, n - max_words)
        gain += 0.3 * (not inside)  # a whole phrase, to the clause's end
        cuts = [
            1.5 * (_bare(tokens[i]) in w.function) + 1.5 * (_bare(tokens[j]) in w.function),
            1.5 * (i - 1 in named and i in named)
            + 1.5 * (inside and j in named and j + 1 in named),  # a name
            2.0 * ((i - 1) in glued) + 2.0 * (j in glued),  # half a date: "Dom Pedro I em 7 | de setembro"
            1.0 * (inside and _bare(tokens[j + 1]) in w.of),  # "the first | of its kind"
            1.5 * (inside and j in facts[1]),  # "the first | computer program"
        ]
        return gain - sum(cuts)

    spans = [
        (i, j)
        for i in range(len(tokens))
        for j in range(i, min(len(tokens), i + max_words + 1))
        if clause[j] == clause[i]
    ]
    i, j = max(spans, key=lambda s: (points(*s), -s[0]))
    phrase = clean(" ".join(tokens[i : j + 1]).strip(" ,;:.—–-()\"'“”«»"))
    return phrase[:1].upper() + phrase[1:]


def hook_line(text: str, language: str, llm: GroqWriter | None = None, usage: dict | None = None) -> str:
    """The hook line shown over a Short's first seconds, for its opening sentence: the language model's
    when one is given (falling back to the key phrase when it fails, logged; what its call spent is added
    to `usage`), else the key phrase; plain text (metadata.clean)."""
    if llm is not None:
        from pipelines.providers.writer.groq import LLMError

        try:
            if line := clean(llm.hook_line(text, language, usage=usage)):
                return line
        except LLMError as e:
            log.warning("groq could not write the hook line (%s): using the opening fact's key phrase", e)
    return clean(key_phrase(text, language))


def _hook_writer(p: Production) -> GroqWriter | None:
    """Groq, when the channel writes with it and a key is set; else None (the offline key phrase)."""
    if p.cfg.llm.provider != "groq":
        return None
    from pipelines.providers.writer.groq import groq_from_env

    return groq_from_env(p.cfg.llm.model, base_url=os.environ.get("GROQ_BASE_URL") or None)


# --- the stage -----------------------------------------------------------------------------------------


def cut_shorts(conn: Conn, p: Production) -> list[dict]:
    """Render and publish the production's Shorts: the chosen runs (see `choose`) at 9:16 with re-timed
    captions and a hook line, each at the channel's next free Shorts slot; returns the receipts. A Short
    already rendered is not redone."""
    cfg = p.cfg
    script = ScriptOutput.approved(conn, p.id).load_script(p)
    audio = AudioOutput.approved(conn, p.id)
    timings = audio.load_timings(p)
    results = []
    longform = next((u["url"] for u in uploads.of_production(conn, p.id) if u["kind"] == "longform"), None)
    out_dir = p.workspace / "shorts"
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = choose(script, timings, cfg.shorts.max_seconds, cfg.shorts.count, language=cfg.language)
    used = {s.segment for c in chosen for s in c.sentences}  # 9:16 visuals only for the segments shown
    scenes = scenes_for(p, timings, portrait_visuals(conn, p, sorted(used)))
    llm = _hook_writer(p) if chosen else None
    try:
        for n, choice in enumerate(chosen, start=1):
            recorded = p.abs(f"shorts/short-{n}.choice.json")  # staged when a run before this one wrote it
            choice = replace(choice, hook=_hook_of(p.id, n, recorded, choice, cfg.language, llm))
            p.sync()  # the hook line is stored at once: a retry on another worker reuses it
            results.append(_publish_one(conn, p, script, timings, scenes, audio, choice, n, longform))
    finally:
        if llm is not None:
            llm.close()
    return results


def _hook_of(
    production_id: int, n: int, path: Path, choice: Choice, language: str, llm: GroqWriter | None
) -> str:
    """Short `n`'s hook line, written once: a retry reuses the one recorded at `path` for the same cut (a
    model need not answer the same twice, and the video may already show it). What the model's call spent
    is recorded as the cost `shorts:<n>:hook:llm`."""
    if path.exists():
        kept = read_json(path)
        if (kept.get("start"), kept.get("end")) == (choice.start, choice.end) and kept.get("hook"):
            return str(kept["hook"])
    usage = None
    if llm is not None:
        from pipelines.providers.writer.groq import new_usage

        usage = new_usage(llm.model)
    hook = hook_line(choice.sentences[0].text, language, llm, usage)
    if usage and usage["total_tokens"]:  # a call that failed without an answer spent nothing known
        costs.llm(production_id, f"shorts:{n}:hook:llm", usage)
    write_json(path, replace(choice, hook=hook).record())
    return hook


def _publish_one(
    conn: Conn,
    p: Production,
    script: StoredScript,
    timings: Timings,
    scenes: list[Scene],
    audio: AudioOutput,
    choice: Choice,
    n: int,
    longform: str | None,
) -> dict:
    cfg, yt = p.cfg, p.cfg.publish.youtube
    start, end = choice.start, choice.end
    item_name = f"{p.id:05d}-short-{n}"
    out_dir = p.workspace / "shorts"
    video = out_dir / f"short-{n}.mp4"
    cues = build_cues(words_of(timings, start, end), max_chars=20, max_words=4)  # one line at 9:16
    # word by word, with the hook line on top for its first two seconds
    ass = write_ass(cues, out_dir / f"short-{n}.ass", *SIZE, cfg.style, mode="karaoke", hook=choice.hook)
    inside = [
        Scene(s.media, max(s.start, start), min(s.end, end), s.kind)
        for s in scenes
        if s.end > start and s.start < end
    ]
    if not p.has(f"shorts/short-{n}.mp4"):  # a retry finds a rendered Short in storage
        with costs.render_cpu(p.id, f"shorts:short-{n}:render") as cost:  # ffmpeg's CPU-seconds
            render_video(
                inside,
                p.abs(audio.soundtrack),
                video,
                size=SIZE,
                fps=30,
                subtitles=ass,
                audio_start=start,
                duration=end - start,
            )
            cost["video_seconds"] = round(end - start, 3)
        p.sync()  # stored before it is published: a retry does not render it again
    heading = script.segments[choice.sentences[0].segment].heading
    title = fit_title(f"{script.title} — {heading}", default=script.title)
    # once the long-form video has its id, the Short sends viewers to it
    opening = f"{script.title}: {longform}" if longform else script.title
    description = fit_description(opening, keep=f"{script.disclosure}\n#Shorts")
    item = PublishItem(
        name=item_name,
        kind="short",
        channel=p.channel,
        production_id=p.id,
        dag_run_id=p.dag_run_id,
        title=title,
        description=description,
        tags=fit_tags([*cfg.publish.tags, "Shorts"]),
        category_id=cfg.publish.category_id,
        language=cfg.language,
        privacy=cfg.publish.privacy,
        made_for_kids=cfg.publish.made_for_kids,
        notify_subscribers=yt.notify_subscribers if yt else True,
        publish_at=slot_for(conn, p, item_name, cfg.publish.shorts_time),
        video=video,
        playlists=tuple(yt.shorts_playlists) if yt else (),
        extra={
            "duration": round(end - start, 3),
            "source": {"longform_production": p.id, "start": start, "end": end},
            "choice": choice.record(),
        },
    )
    receipt = publish_item(conn, p, item)
    log.info(
        "short %s: %.1f-%.1f s, score %.2f (%s), hook %r -> %s",
        item_name,
        start,
        end,
        choice.score,
        "; ".join(choice.reasons),
        choice.hook,
        receipt.get("url") or receipt.get("folder"),
    )
    return receipt


def run(production_id: int, channel: str) -> list[dict]:
    """The Shorts of one published production of `channel` (a channel's Shorts DAG touches only its own)."""
    logfields.bind(stage="shorts")
    with production_db(production_id) as (conn, p):
        if p.channel != channel:
            raise ValueError(f"production {production_id} belongs to {p.channel}, not {channel}")
        return cut_shorts(conn, p)
