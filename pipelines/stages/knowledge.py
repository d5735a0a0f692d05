"""Task `knowledge`: query the channel's knowledge base, then research only what is missing."""

from __future__ import annotations

import logging
import os
from typing import NotRequired, TypedDict

from knowledge import store
from knowledge.query import KnowledgeReport, query
from pipelines import costs
from pipelines.db import Conn
from pipelines.files import write_json
from pipelines.production import Production, production_db
from pipelines.providers.research.base import FoundFact, ResearchProvider
from pipelines.providers.research.local import LocalSources

log = logging.getLogger(__name__)
RECHECK_DAYS = 30  # an external query is not repeated for a channel within this many days (or the fact TTL)


class ResearchResult(TypedDict):
    """What the research of a production did (knowledge/research.json)."""

    providers: list[dict]  # one entry per call: name, query, question, candidates, new
    gaps: list[str]
    questions: list[dict]
    new_fact_ids: list[int]
    duplicates: int
    external_calls: int
    skipped_queries: list[dict]
    reused_fact_ids: list[int]
    candidates: int
    questions_after: NotRequired[list[dict]]


def facts_needed(p: Production) -> int:
    """Fact sentences a script of the target length needs (~20 words each, narrated at the voice's rate)."""
    words = p.target_seconds * p.cfg.voice.rate_wpm / 60
    return max(3, round(words / 20))


def query_knowledge(conn: Conn, p: Production) -> KnowledgeReport:
    """What the channel's knowledge base has on the topic (facts, score, gaps), also written to
    knowledge/query.json."""
    report = query(conn, p.channel, p.cfg.text_search_config, p.topic, facts_needed(p))
    write_json(p.workspace / "knowledge" / "query.json", report.as_json())
    log.info(
        "knowledge for %r: %d facts, score %.2f, gaps %s",
        p.topic,
        len(report.facts),
        report.score,
        report.gaps or "none",
    )
    return report


def providers_for(conn: Conn, p: Production) -> list[tuple[str, ResearchProvider]]:
    """The channel's research providers, in its order; which run depends on config and credentials."""
    out: list[tuple[str, ResearchProvider]] = []
    for name in p.cfg.research.providers:
        if name == "local":
            out.append(
                (name, LocalSources(p.cfg.sources_path, p.cfg.language, conn, p.cfg.text_search_config))
            )
        elif name == "wikipedia":
            from pipelines.providers.http import wikimedia_user_agent
            from pipelines.providers.research.wikipedia import WikipediaSources

            agent = wikimedia_user_agent("research")
            base = os.environ.get("WIKIPEDIA_BASE_URL")
            out.append((name, WikipediaSources(p.cfg.language, base_url=base, user_agent=agent)))
        elif name == "websearch":
            key = os.environ.get("BRAVE_SEARCH_API_KEY")
            if not key:
                log.warning(
                    "channel %s lists websearch but BRAVE_SEARCH_API_KEY is not set: skipped", p.channel
                )
                continue
            from pipelines.providers.research.websearch import WebSearch

            base = os.environ.get("BRAVE_SEARCH_BASE_URL", "https://api.search.brave.com")
            out.append((name, WebSearch(key, language=p.cfg.language, base_url=base)))
    return out


def _next_query(topic: str, report: KnowledgeReport, asked: set[str]) -> tuple[str, str | None] | None:
    """What to ask an external provider next: the plain topic first (search engines do best with it), then
    each question the stored facts still don't answer, with its research words."""
    for query_text, key in [(topic, None), *((q.research, q.key) for q in report.open_questions)]:
        if query_text.casefold() not in asked:
            return query_text, key
    return None


def research_gaps(conn: Conn, p: Production, report: KnowledgeReport) -> ResearchResult:
    """Only when the knowledge base falls short: each provider in turn, while gaps remain. Local documents
    are searched for the topic and its missing words; external providers are asked the topic, then the
    open questions, one call at a time, until the gaps close, a call finds nothing new, or the channel's
    call budget is spent. A query this provider was already asked for the channel recently is not sent
    again. New facts are stored with their source; near-duplicates of stored facts are not."""
    reused = [f.id for f in report.facts]
    result: ResearchResult = {
        "providers": [],
        "gaps": report.gaps,
        "questions": [q.as_json() for q in report.questions],
        "new_fact_ids": [],
        "duplicates": 0,
        "external_calls": 0,
        "skipped_queries": [],
        "reused_fact_ids": reused,
        "candidates": 0,
    }
    lang = p.cfg.text_search_config
    budget = p.cfg.research.max_external_calls
    recheck_days = min(RECHECK_DAYS, p.cfg.knowledge.fact_ttl_days or RECHECK_DAYS)

    def store_found(name: str, query_text: str, question: str | None, found: list[FoundFact]) -> int:
        added = store.add_facts(conn, p.channel, lang, found)
        result["providers"].append(
            {
                "name": name,
                "query": query_text,
                "question": question,
                "candidates": len(found),
                "new": len(added.new_ids),
            }
        )
        result["candidates"] += len(found)
        result["new_fact_ids"] += added.new_ids
        result["duplicates"] += added.duplicates
        return len(added.new_ids)

    for name, provider in [] if report.sufficient else providers_for(conn, p):
        if not provider.external:
            gap_terms = " ".join(g.split(":", 1)[1] for g in report.gaps if g.startswith("term:"))
            search = f"{p.topic} {gap_terms}".strip()
            store_found(name, search, None, provider.research(search))
        else:
            asked: set[str] = set()
            while result["external_calls"] < budget and (nxt := _next_query(p.topic, report, asked)):
                query_text, question = nxt
                asked.add(query_text.casefold())
                if store.asked_recently(conn, p.channel, name, query_text, recheck_days):
                    result["skipped_queries"].append({"name": name, "query": query_text})
                    log.info(
                        "research: %s was asked %r in the last %s days: not asked again",
                        name,
                        query_text,
                        recheck_days,
                    )
                    continue
                found = provider.research(query_text)
                result["external_calls"] += 1
                new = store_found(name, query_text, question, found)
                store.log_research(conn, p.channel, p.id, name, query_text, question, len(found), new)
                report = query(conn, p.channel, lang, p.topic, facts_needed(p))
                if report.sufficient or not new:
                    break
        report = query(conn, p.channel, lang, p.topic, facts_needed(p))
        if report.sufficient:
            break
    if report.gaps and not result["new_fact_ids"]:
        log.warning(
            "no research provider had more on %r (%s); add a document to %s",
            p.topic,
            ", ".join(p.cfg.research.providers),
            p.cfg.sources_dir,
        )
    result["questions_after"] = [q.as_json() for q in report.questions]
    store.record_usage(
        conn,
        p.channel,
        p.id,
        len(reused),
        len(result["new_fact_ids"]),
        result["duplicates"],
        result["external_calls"],
        list(dict.fromkeys(x["name"] for x in result["providers"])),
        result["questions_after"],
    )
    write_json(p.workspace / "knowledge" / "research.json", result)
    log.info(
        "research for %r: %s new facts, %s reused, %s duplicates, %s external calls; questions open: %s",
        p.topic,
        len(result["new_fact_ids"]),
        len(reused),
        result["duplicates"],
        result["external_calls"],
        ", ".join(q.key for q in report.open_questions) or "none",
    )
    return result


def run(production_id: int) -> dict:
    """Query, then research the gaps; returns a summary for the task's log and XCom."""
    with production_db(production_id) as (conn, p):
        report = query_knowledge(conn, p)
        result = research_gaps(conn, p, report)
        costs.research(conn, p.id, p.cfg.costs.websearch_usd_per_thousand_calls)  # from the research log
    return {
        "score": report.score,
        "gaps": report.gaps,
        "new_facts": len(result["new_fact_ids"]),
        "reused_facts": len(result["reused_fact_ids"]),
        "external_calls": result["external_calls"],
        "questions": {q["key"]: q["score"] for q in result["questions_after"]},
    }
