"""Stages 2 and 3: query the channel's knowledge base, then research only what is missing."""

from __future__ import annotations

import logging

import psycopg

from knowledge import store
from knowledge.query import KnowledgeReport, query
from pipelines.production import Production, write_json
from pipelines.providers.research_local import LocalSources

log = logging.getLogger(__name__)


def facts_needed(p: Production) -> int:
    """Fact sentences a script of the target length needs (~20 words each, narrated at the voice's rate)."""
    words = p.target_seconds * p.cfg.voice.rate_wpm / 60
    return max(3, round(words / 20))


def query_knowledge(conn: psycopg.Connection, p: Production) -> KnowledgeReport:
    report = query(conn, p.channel, p.cfg.text_search_config, p.topic, facts_needed(p))
    write_json(p.workspace / "knowledge" / "query.json", report.as_json())
    log.info("knowledge for %r: %d facts, score %.2f, gaps %s", p.topic, len(report.facts), report.score,
             report.gaps or "none")
    return report


def research_gaps(conn: psycopg.Connection, p: Production, report: KnowledgeReport) -> dict:
    """Only when the knowledge base falls short; new facts are stored with their source."""
    reused = [f.id for f in report.facts]
    if report.sufficient:
        result = {"provider": None, "skipped": "knowledge base already covers the topic", "new_fact_ids": [],
                  "reused_fact_ids": reused, "duplicates": 0, "external_calls": 0}
    else:
        provider = LocalSources(p.cfg.sources_path)
        gap_terms = " ".join(g.split(":", 1)[1] for g in report.gaps if g.startswith("term:"))
        found = provider.research(conn, p.cfg.text_search_config, f"{p.topic} {gap_terms}".strip())
        added = store.add_facts(conn, p.channel, p.cfg.text_search_config, found)
        result = {"provider": provider.name, "gaps": report.gaps, "candidates": len(found),
                  "new_fact_ids": added.new_ids, "duplicates": added.duplicates, "reused_fact_ids": reused,
                  "external_calls": 0}  # local documents: no external call
        if not found:
            log.warning("no local source matches %r: add a document to %s", p.topic, p.cfg.sources_dir)
    store.record_usage(conn, p.channel, p.id, len(reused), len(result["new_fact_ids"]), result["duplicates"],
                       result["external_calls"], [result["provider"]] if result["provider"] else [])
    write_json(p.workspace / "knowledge" / "research.json", result)
    log.info("research for %r: %s new facts, %s reused, %s duplicates", p.topic, len(result["new_fact_ids"]),
             len(reused), result["duplicates"])
    return result
