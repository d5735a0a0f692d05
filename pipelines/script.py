"""Stage 4: the script, built from the channel's facts; every factual sentence cites its fact."""

from __future__ import annotations

import psycopg

from knowledge import store
from knowledge.query import query
from pipelines import notes as review_notes
from pipelines.production import Production, write_json
from pipelines.providers import writer_offline
from pipelines.research import facts_needed


def segment_text(segment: dict) -> str:
    return " ".join(s["text"] for s in segment["sentences"])


def write_script(conn: psycopg.Connection, p: Production, revision: int, notes: str | None) -> dict:
    cfg = p.cfg
    report = query(conn, p.channel, cfg.text_search_config, p.topic, facts_needed(p))
    if not report.facts:
        raise ValueError(f"channel {p.channel} knows nothing about {p.topic!r} and its sources have nothing on it: "
                         f"add a source document to {cfg.sources_dir} or choose another topic")
    adjust = review_notes.read(notes)
    target_words = round(p.target_seconds * cfg.voice.rate_wpm / 60 * adjust.length)
    sources = writer_offline.rank_sources(report.facts)[:2]
    pool = store.facts_from_sources(conn, p.channel, sources)
    script = writer_offline.write(p.topic, cfg.language, pool, target_words, notes)
    script["revision"] = revision
    script["notes_understood"] = list(adjust.understood)
    path = write_json(p.stage_dir("script", revision) / "script.json", script)
    return {"script": p.rel(path), "writer": script["writer"],
            "fact_ids": [s["fact_id"] for seg in script["segments"] for s in seg["sentences"] if s["fact_id"]]}
