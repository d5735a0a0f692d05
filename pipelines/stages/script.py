"""Task `script` (checkpoint 1): the script, built from the channel's facts; every factual sentence cites its facts.

The writer (Groq with a key, else the offline template writer) returns a structured `Script`; it is
grounding-checked against the cited facts (flags shown at checkpoint 1) and stored as script.json, whose
first segment is the spoken hook."""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Mapping

from knowledge import store
from knowledge.audience import opening_style
from knowledge.query import KnowledgeReport, query
from knowledge.store import AudienceLearning, Fact, source_key
from pipelines import checkpoints, costs, grounding
from pipelines import notes as review_notes
from pipelines.artifacts import (
    ScriptChapter,
    ScriptOutput,
    Segment,
    Sentence,
    Source,
    StoredScript,
    segment_roles,
)
from pipelines.checkpoints import Checkpoint, CheckpointError
from pipelines.db import Conn
from pipelines.errors import NoFacts
from pipelines.metadata import fit_title, removed_by_clean
from pipelines.production import Production
from pipelines.providers.writer.base import Brief, Script, Writer, WriterResult
from pipelines.providers.writer.offline import OfflineWriter
from pipelines.stages.knowledge import facts_needed

log = logging.getLogger(__name__)
INTRO_HEADING = {"en": "Introduction", "pt-BR": "Introdução"}
# a length learning moves the channel's target_seconds at most this far either way (the channel's bounds)
LENGTH_BOUNDS = (0.5, 1.5)
STYLE_NAMES = {
    "question": "a question",
    "number": "a number",
    "superlative": "a superlative",
    "name": "a name",
    "statement": "a plain statement",
}


def target_seconds(p: Production, learnings: list[AudienceLearning]) -> tuple[int, dict[int, str]]:
    """The narration's target: the production's own when it was set by hand, else the channel's
    target_seconds, moved by a 'length:target_seconds' learning within LENGTH_BOUNDS of it; and how the
    learning was applied (learning id -> how)."""
    base = p.cfg.target_seconds
    rule = next((a for a in learnings if a.rule == "length:target_seconds"), None)
    if p.target_override or rule is None:
        return p.target_seconds, {}
    lo, hi = round(base * LENGTH_BOUNDS[0]), round(base * LENGTH_BOUNDS[1])
    want = int(rule.evidence.get("target_seconds") or base)
    got = min(max(want, lo), hi)
    how = f"target length {got} s instead of the channel's {base} s"
    if got != want:
        how += f" (the learning's {want} s, kept within the channel's bounds of {lo}-{hi} s)"
    return got, {rule.id: how}


def learnings_applied(
    learnings: list[AudienceLearning], written: WriterResult, stage: dict[int, str], topic: str
) -> list[dict]:
    """Each audience learning the script follows: its id, lesson and how it was applied (by the stage, by
    the writer); an opening learning also says how the hook opens."""
    out = []
    for a in learnings:
        how = [h for h in (stage.get(a.id), written.applied.get(a.id)) if h]
        if how and a.rule.startswith("opening:") and not any(h.startswith("the hook") for h in how):
            how.append(f"the hook opens with {STYLE_NAMES[opening_style(written.script.hook, topic)]}")
        if how:
            out.append(
                {"id": a.id, "kind": a.kind, "rule": a.rule, "lesson": a.lesson, "how": "; ".join(how)}
            )
    return out


def rank_sources(ranked: list[Fact], top: int = 15) -> list[str]:
    """Sources ordered by how many of the best-ranked facts they hold: the topic's main documents first."""
    counts = Counter(source_key(f) for f in ranked[:top])
    return [src for src, _ in counts.most_common()]


def writer_for(p: Production) -> Writer:
    """The channel's writer: Groq when configured and keyed, else the offline template writer (logged)."""
    if p.cfg.llm.provider == "groq":
        from pipelines.providers.writer.groq import groq_from_env

        groq = groq_from_env(p.cfg.llm.model, base_url=os.environ.get("GROQ_BASE_URL") or None)
        if groq is not None:
            return groq
        log.warning(
            "channel %s asks for Groq but GROQ_API_KEY / connection groq_default is not set: "
            "using the offline writer",
            p.channel,
        )
    return OfflineWriter()


def writer_facts(conn: Conn, p: Production) -> tuple[KnowledgeReport, list[Fact]]:
    """What the channel knows on the topic, and the facts the writer may cite: those of the topic's two main
    sources (else every fact found). NoFacts when it knows nothing on it."""
    report = query(conn, p.channel, p.cfg.text_search_config, p.topic, facts_needed(p))
    if not report.facts:
        raise NoFacts(
            f"channel {p.channel} knows nothing about {p.topic!r} and its sources have nothing on it: "
            f"add a source document to {p.cfg.sources_dir} or choose another topic"
        )
    return report, store.facts_from_sources(conn, p.channel, rank_sources(report.facts)[:2]) or report.facts


def write_script(conn: Conn, p: Production, revision: int, notes: str | None) -> ScriptOutput:
    """Write a revision of the script from the channel's facts, grounding-check it and store script.json;
    returns the artifacts. NoFacts when the channel has no facts on the topic."""
    cfg = p.cfg
    report, pool = writer_facts(conn, p)
    adjust = review_notes.read(notes)
    audience = store.audience_learnings(conn, p.channel)
    seconds, length_applied = target_seconds(p, audience)
    target_words = round(seconds * cfg.voice.rate_wpm / 60 * adjust.length)
    brief = Brief(
        topic=p.topic,
        language=cfg.language,
        facts=pool,
        target_words=target_words,
        tone=cfg.llm.tone,
        audience=cfg.llm.audience,
        learnings=store.recent_learnings(conn, p.channel),
        notes=notes,
        questions=[q.question for q in report.questions],
        audience_learnings=audience,
    )
    writer = writer_for(p)
    cost_key = f"script:r{revision}:llm"
    try:
        written = writer.write(brief)
    except Exception as e:
        if spent := getattr(e, "usage", None):  # a script that failed validation: its tokens were paid for
            costs.llm(p.id, cost_key, spent, failed=True)
        raise
    finally:
        writer.close()
    script, disclosure, usage = written.script, written.disclosure, written.usage
    costs.llm(p.id, cost_key, usage)
    by_id = {f.id: f for f in pool}
    flags = grounding.check(script, by_id, topic=p.topic)
    stored = _stored(
        script,
        cfg.language,
        by_id,
        topic=p.topic,
        writer=written.writer,
        disclosure=disclosure,
        review_notes=notes,
        revision=revision,
        notes_understood=list(adjust.understood),
        grounding_flags=flags,
        usage=usage,
        learnings_applied=learnings_applied(audience, written, length_applied, p.topic),
    )
    path = stored.save(p.stage_dir("script", revision) / "script.json")
    if flags:
        log.warning("script r%s has %d grounding flag(s) for the reviewer", revision, len(flags))
    return ScriptOutput(
        script=p.rel(path),
        writer=written.writer,
        fact_ids=stored.cited_ids(),
        grounding_flags=len(flags),
        **({"usage": usage} if usage else {}),
    )


def _stored(script: Script, language: str, facts: Mapping[int, store.Fact], **about) -> StoredScript:
    """script.json: the hook becomes the first (spoken) segment; each segment is marked intro, body or
    closing (artifacts.segment_roles); chapters point at stored segments; the sources are those of the cited
    facts; `about` says who wrote it, for which notes, and what was flagged. The title is one YouTube takes
    (a model's title can carry markup or run long too)."""
    title = fit_title(script.title, default=about["topic"])
    hook = Segment(
        heading=INTRO_HEADING[language],
        sentences=[Sentence(text=t, fact_ids=[]) for t in re.split(r"(?<=[.!?])\s+", script.hook) if t],
        visual_cue=title,
        on_screen_text=title,
    )
    segments = [hook] + [Segment.model_validate(seg.model_dump()) for seg in script.segments]
    for seg, role in zip(segments, segment_roles(segments), strict=True):
        seg.role = role  # marked once, here: Shorts and thumbnails leave out the intro and the closing
    stored = StoredScript(
        title=title,
        hook=script.hook,
        segments=segments,
        description=script.description,
        tags=script.tags,
        chapters=[ScriptChapter(segment=c.segment + 1, title=c.title) for c in script.chapters],
        sources=[],
        language=language,
        **about,
    )
    sources: dict[str, Source] = {}
    for f in (facts[i] for i in stored.cited_ids() if i in facts):
        sources.setdefault(f.source_title, Source(title=f.source_title, url=f.source_url, path=f.source_path))
    stored.sources = list(sources.values())
    return stored


def view(conn: Conn, p: Production, cp: Checkpoint) -> dict:
    """The script checkpoint on the Review page: each sentence with the facts it cites, the grounding flags
    and fact conflicts, and the writer's usage."""
    script = ScriptOutput.of(cp).load_script(p)
    ids = script.cited_ids()
    facts = {f.id: f for f in store.get_facts(conn, p.channel, ids)}
    segments = [
        {
            "index": i,
            "heading": seg.heading,
            "visual_cue": seg.visual_cue,
            "sentences": [
                {
                    "index": j,
                    "text": s.text,
                    "fact_ids": s.fact_ids,
                    "edited": s.edited,
                    "fact_id": s.fact_ids[0] if s.fact_ids else None,
                    "fact": _fact(facts.get(s.fact_ids[0])) if s.fact_ids else None,
                    "facts": [_fact(facts.get(k)) for k in s.fact_ids],
                }
                for j, s in enumerate(seg.sentences)
            ],
        }
        for i, seg in enumerate(script.segments)
    ]
    # grounding flags count segments without the spoken hook; the page shows them by stored segment
    flags = [
        {**f.dump(), "segment": 0 if f.segment is None else f.segment + 1, "sentence": f.sentence or 0}
        for f in script.grounding_flags
    ]
    conflicts = store.conflicts_of(conn, p.channel, ids)
    for i, seg in enumerate(script.segments):
        for j, s in enumerate(seg.sentences):
            for k in s.fact_ids:
                flags += [
                    {
                        "segment": i,
                        "sentence": j,
                        "text": s.text,
                        "problem": f"fact {k} conflicts with fact {c.id} ({c.source_title}): \u201c{c.claim}\u201d",
                    }
                    for c in conflicts.get(k, [])
                ]
    used = conn.execute("SELECT questions FROM knowledge_usage WHERE production_id = %s", (p.id,)).fetchone()
    return {
        "title": script.title,
        "writer": script.writer,
        "disclosure": script.disclosure,
        "review_notes": script.review_notes,
        "segments": segments,
        "flags": flags,
        "usage": script.usage,
        "questions": used["questions"] if used else [],
        "learnings_applied": script.learnings_applied,
    }


def _fact(f: store.Fact | None) -> dict | None:
    return (
        None
        if f is None
        else {
            "id": f.id,
            "claim": f.claim,
            "source_title": f.source_title,
            "source_url": f.source_url,
            "source_path": f.source_path,
        }
    )


def apply_edits(conn: Conn, p: Production, cp: Checkpoint, edits: dict) -> ScriptOutput:
    """Approve with edits: the edited sentences are what gets narrated (originals kept)."""
    art = ScriptOutput.for_edits(cp)
    script = art.load_script(p)
    for key, text in checkpoints.edit_of(edits, "sentences", dict).items():
        s = _sentence(key, script.segments)
        if not str(text).strip():
            raise CheckpointError(
                f"edits.sentences[{key!r}]: empty text; to drop a sentence, request changes"
            )
        if removed := removed_by_clean(str(text)):
            raise CheckpointError(
                f"edits.sentences[{key!r}]: remove the {', '.join(removed)}: a sentence is narrated and "
                "captioned as it is written, so it must be plain text"
            )
        if s.original is None:
            s.original = s.text
        s.text, s.edited = " ".join(str(text).split()), True
    art.script = p.rel(script.save(p.abs(art.script).with_name("script.edited.json")))
    return art


def _sentence(key: str, segments: list[Segment]) -> Sentence:
    """The sentence an edit's key '<segment>.<sentence>' names."""
    try:
        seg, sent = (int(x) for x in str(key).split("."))
        sentence = segments[seg].sentences[sent]
        if seg < 0 or sent < 0:
            raise IndexError
    except (ValueError, IndexError):
        raise CheckpointError(
            f"edits.sentences: {key!r} is not a '<segment>.<sentence>' of this script"
        ) from None
    return sentence


def produce(conn: Conn, p: Production, revision: int, notes: str | None) -> ScriptOutput:
    """A revision of the script (the checkpoint's artifacts)."""
    return write_script(conn, p, revision, notes)
