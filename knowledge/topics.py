"""Topics a channel has covered, topics too close to them, and what to cover next."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knowledge.sources import read_all
from pipelines.db import Conn

SIMILAR = 0.5  # a topic at or above this similarity to a covered one is a repeat


@dataclass(frozen=True)
class Covered:
    topic: str
    production_id: int
    covered_at: object
    similarity: float


def similar_covered(
    conn: Conn, channel: str, lang: str, topic: str, threshold: float = SIMILAR
) -> list[Covered]:
    """Covered topics close to `topic`: the best of trigram similarity of the titles and the overlap
    (Jaccard) of their stemmed words, so "Apollo 11 Moon landing" matches "The Moon landing of Apollo 11"."""
    rows = conn.execute(
        """WITH t AS (SELECT tsvector_to_array(to_tsvector(%(lang)s::regconfig, %(topic)s)) AS terms)
           SELECT c.topic, c.production_id, c.covered_at,
                  greatest(similarity(lower(c.topic), lower(%(topic)s)),
                           (SELECT count(*) FROM unnest(tsvector_to_array(to_tsvector(%(lang)s::regconfig, c.topic))) x
                             WHERE x = ANY(t.terms))::float
                           / nullif(cardinality(ARRAY(SELECT DISTINCT unnest(
                               tsvector_to_array(to_tsvector(%(lang)s::regconfig, c.topic)) || t.terms))), 0)
                  ) AS sim
             FROM coverage c, t WHERE c.channel = %(channel)s ORDER BY sim DESC""",
        {"lang": lang, "topic": topic, "channel": channel},
    ).fetchall()
    return [
        Covered(r["topic"], r["production_id"], r["covered_at"], round(r["sim"] or 0, 3))
        for r in rows
        if (r["sim"] or 0) >= threshold
    ]


def suggest(
    conn: Conn, channel: str, lang: str, backlog: list[str], sources: Path, limit: int = 10
) -> list[dict]:
    """Next topics from the coverage gaps: backlog topics not covered yet, then source documents whose
    subject no video has covered (the knowledge is there, the video is not)."""
    out: list[dict] = []
    seen: set[str] = set()
    candidates = [(t, "in the backlog") for t in backlog] + [
        (d.title, f"source document {d.path.name} not covered yet") for d in read_all(sources)
    ]
    for topic, reason in candidates:
        key = topic.casefold()
        if key in seen or similar_covered(conn, channel, lang, topic):
            continue
        seen.add(key)
        out.append({"topic": topic, "reason": reason})
        if len(out) == limit:
            break
    return out
