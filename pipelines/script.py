"""Stage 4: the script, built from the channel's facts; every factual sentence cites its facts.

The writer (Groq with a key, else the offline template writer) returns a structured `Script`; it is
grounding-checked against the cited facts (flags shown at checkpoint 1) and stored as script.json, whose
first segment is the spoken hook."""

from __future__ import annotations

import logging
import os
import re

import psycopg

from knowledge import store
from knowledge.query import query
from pipelines import notes as review_notes
from pipelines.errors import NoFacts
from pipelines.production import Production, write_json
from pipelines.providers import grounding, writer_offline
from pipelines.providers.script_schema import Script
from pipelines.research import facts_needed

log = logging.getLogger(__name__)
INTRO_HEADING = {"en": "Introduction", "pt-BR": "Introdução"}


def segment_text(segment: dict) -> str:
    return " ".join(s["text"] for s in segment["sentences"])


def _groq(p: Production):
    if p.cfg.llm.provider != "groq":
        return None
    from pipelines.providers.llm_groq import groq_from_env

    writer = groq_from_env(p.cfg.llm.model, base_url=os.environ.get("GROQ_BASE_URL") or None)
    if writer is None:
        log.warning(
            "channel %s asks for Groq but GROQ_API_KEY / connection groq_default is not set: "
            "using the offline writer",
            p.channel,
        )
    return writer


def write_script(conn: psycopg.Connection, p: Production, revision: int, notes: str | None) -> dict:
    cfg = p.cfg
    report = query(conn, p.channel, cfg.text_search_config, p.topic, facts_needed(p))
    if not report.facts:
        raise NoFacts(
            f"channel {p.channel} knows nothing about {p.topic!r} and its sources have nothing on it: "
            f"add a source document to {cfg.sources_dir} or choose another topic"
        )
    adjust = review_notes.read(notes)
    target_words = round(p.target_seconds * cfg.voice.rate_wpm / 60 * adjust.length)
    pool = (
        store.facts_from_sources(conn, p.channel, writer_offline.rank_sources(report.facts)[:2])
        or report.facts
    )
    groq = _groq(p)
    if groq is not None:
        learnings = store.recent_learnings(conn, p.channel)
        with_groq = groq.write(
            topic=p.topic,
            language=cfg.language,
            facts=pool,
            target_words=target_words,
            tone=cfg.llm.tone,
            audience=cfg.llm.audience,
            learnings=learnings,
            notes=notes,
            questions=[q.question for q in report.questions],
        )
        script, writer, disclosure, usage = (
            with_groq.script,
            f"groq ({groq.model})",
            groq.disclosure(cfg.language),
            with_groq.usage,
        )
        groq.close()
    else:
        script = writer_offline.write(
            p.topic, cfg.language, writer_offline.follow_notes(pool, adjust.lead, adjust.drop), target_words
        )
        writer, disclosure, usage = writer_offline.NAME, writer_offline.DISCLOSURE[cfg.language], None
    by_id = {f.id: f for f in pool}
    flags = grounding.check(script, by_id, topic=p.topic)
    data = _stored(script, cfg.language, [by_id[i] for i in sorted(_cited(script)) if i in by_id])
    data.update(
        topic=p.topic,
        language=cfg.language,
        writer=writer,
        disclosure=disclosure,
        review_notes=notes,
        revision=revision,
        notes_understood=list(adjust.understood),
        grounding_flags=flags,
        usage=usage,
    )
    path = write_json(p.stage_dir("script", revision) / "script.json", data)
    if flags:
        log.warning("script r%s has %d grounding flag(s) for the reviewer", revision, len(flags))
    return {
        "script": p.rel(path),
        "writer": writer,
        "fact_ids": sorted(_cited(script)),
        "grounding_flags": len(flags),
        **({"usage": usage} if usage else {}),
    }


def _cited(script: Script) -> set[int]:
    return {i for seg in script.segments for s in seg.sentences for i in s.fact_ids}


def _stored(script: Script, language: str, cited: list) -> dict:
    """script.json: the hook becomes the first (spoken) segment; chapters point at stored segments."""
    hook = {
        "heading": INTRO_HEADING[language],
        "sentences": [{"text": t, "fact_ids": []} for t in re.split(r"(?<=[.!?])\s+", script.hook) if t],
        "visual_cue": script.title,
        "on_screen_text": script.title,
    }
    segments = [hook] + [seg.model_dump() for seg in script.segments]
    sources: dict[str, dict] = {}
    for f in cited:
        sources.setdefault(
            f.source_title, {"title": f.source_title, "url": f.source_url, "path": f.source_path}
        )
    return {
        "title": script.title,
        "hook": script.hook,
        "segments": segments,
        "description": script.description,
        "tags": script.tags,
        "chapters": [{"segment": c.segment + 1, "title": c.title} for c in script.chapters],
        "sources": list(sources.values()),
    }
