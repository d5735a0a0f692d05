"""Stages 2 and 3: query the channel's knowledge base, then research only what is missing."""

from __future__ import annotations

import logging
import os

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


def providers_for(p: Production) -> list[tuple[str, object]]:
    """The channel's research providers, in its order; which run depends on config and credentials."""
    out: list[tuple[str, object]] = []
    for name in p.cfg.research.providers:
        if name == "local":
            out.append((name, LocalSources(p.cfg.sources_path)))
        elif name == "wikipedia":
            from pipelines.providers.research_wikipedia import WikipediaSources

            out.append((name, WikipediaSources(p.cfg.language, base_url=os.environ.get("WIKIPEDIA_BASE_URL"))))
        elif name == "websearch":
            key = os.environ.get("BRAVE_SEARCH_API_KEY")
            if not key:
                log.warning("channel %s lists websearch but BRAVE_SEARCH_API_KEY is not set: skipped", p.channel)
                continue
            from pipelines.providers.research_websearch import WebSearch

            out.append((name, WebSearch(key, language=p.cfg.language)))
    return out


def research_gaps(conn: psycopg.Connection, p: Production, report: KnowledgeReport) -> dict:
    """Only when the knowledge base falls short: each provider in turn, while gaps remain. New facts are
    stored with their source; near-duplicates of stored facts are not."""
    reused = [f.id for f in report.facts]
    result = {"providers": [], "gaps": report.gaps, "new_fact_ids": [], "duplicates": 0, "external_calls": 0,
              "reused_fact_ids": reused, "candidates": 0}
    lang = p.cfg.text_search_config
    for name, provider in ([] if report.sufficient else providers_for(p)):
        gap_terms = " ".join(g.split(":", 1)[1] for g in report.gaps if g.startswith("term:"))
        search = f"{p.topic} {gap_terms}".strip()
        if name == "local":
            found = provider.research(conn, lang, search)
        else:
            found = provider.research(p.topic)  # external search engines do best with the plain topic
            result["external_calls"] += 1
        added = store.add_facts(conn, p.channel, lang, found)
        result["providers"].append({"name": name, "candidates": len(found), "new": len(added.new_ids)})
        result["candidates"] += len(found)
        result["new_fact_ids"] += added.new_ids
        result["duplicates"] += added.duplicates
        report = query(conn, p.channel, lang, p.topic, facts_needed(p))
        if report.sufficient:
            break
    if report.gaps and not result["new_fact_ids"]:
        log.warning("no research provider had more on %r (%s); add a document to %s", p.topic,
                    ", ".join(p.cfg.research.providers), p.cfg.sources_dir)
    store.record_usage(conn, p.channel, p.id, len(reused), len(result["new_fact_ids"]), result["duplicates"],
                       result["external_calls"], [x["name"] for x in result["providers"]])
    write_json(p.workspace / "knowledge" / "research.json", result)
    log.info("research for %r: %s new facts, %s reused, %s duplicates, %s external calls", p.topic,
             len(result["new_fact_ids"]), len(reused), result["duplicates"], result["external_calls"])
    return result
