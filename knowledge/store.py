"""Facts, coverage and learnings of one channel. Every function takes the channel and filters on it, and the
stages run them on a connection opened for that channel (open_channel), where PostgreSQL itself shows no
other channel's rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from knowledge.text import entities, numbers
from pipelines.config import CHANNEL_ID
from pipelines.db import Conn, enter_channel, one


@dataclass(frozen=True)
class Fact:
    id: int
    claim: str
    source_title: str
    source_url: str | None
    source_path: str | None
    position: int
    rank: float = 0.0


_COLUMNS = "id, claim, source_title, source_url, source_path, position"
CANDIDATES = (
    500  # at most this many matching facts are ranked in each pass (each costs a heap read): fast at 1M facts
)


def search_facts(conn: Conn, channel: str, lang: str, topic: str, limit: int = 60) -> list[Fact]:
    """The channel's current facts about a topic, best first: facts matching every topic word (ranked),
    then, if there are fewer than `limit`, facts matching any topic word. Each pass ranks at most
    CANDIDATES rows, so common words in a million-fact channel stay fast. The channel is written into the
    statement as a literal so the planner can use the channel's own search index (see ensure_channel_index).
    Never prepared on the server: a prepared statement soon gets a generic plan, which cannot see the topic's
    words and searches 4x slower (psycopg prepares a statement after its fifth run)."""
    args = {"lang": lang, "topic": topic, "limit": limit}
    current = sql.SQL("channel = {} AND (expires_at IS NULL OR expires_at > now())").format(
        sql.Literal(channel)
    )
    rows = conn.execute(
        sql.SQL(
            f"""SELECT {_COLUMNS}, ts_rank(search, q) AS rank FROM (
                SELECT f.*, q FROM facts f, plainto_tsquery(%(lang)s::regconfig, %(topic)s) AS q
                 WHERE {{current}} AND search @@ q LIMIT {CANDIDATES}) AS candidates
             ORDER BY rank DESC, id LIMIT %(limit)s"""
        ).format(current=current),
        args,
        prepare=False,
    ).fetchall()
    if len(rows) < limit:
        rows += conn.execute(
            sql.SQL(
                f"""SELECT {_COLUMNS}, ts_rank(search, q) AS rank FROM (
                    SELECT f.*, q FROM facts f,
                           (SELECT replace(plainto_tsquery(%(lang)s::regconfig, %(topic)s)::text, '&', '|')::tsquery
                               AS q) AS oq
                     WHERE {{current}} AND search @@ q AND NOT search @@ plainto_tsquery(%(lang)s::regconfig, %(topic)s)
                     LIMIT {CANDIDATES}) AS candidates
                 ORDER BY rank DESC, id LIMIT %(rest)s"""
            ).format(current=current),
            {**args, "rest": limit - len(rows)},
            prepare=False,
        ).fetchall()
    return [Fact(**r) for r in rows]


def open_channel(conn: Conn, channel: str) -> None:
    """Make this connection the channel's own: its search index exists, then the connection enters the
    channel (pipelines.db.enter_channel) and can no longer see or write another channel's rows."""
    ensure_channel_index(conn, channel)
    enter_channel(conn, channel)


def ensure_channel_index(conn: Conn, channel: str) -> None:
    """A full-text index of this channel's facts alone (a partial GIN index on `search`). The shared
    (channel, search) index has to intersect the channel's whole posting list on every query; at a million
    facts the channel's own index is several times faster. Created when a connection first opens the channel
    (open_channel); the catalog is read first, so an existing index costs no table lock."""
    name = f"facts_search_{channel}"
    if (
        not CHANNEL_ID.match(channel)
        or conn.execute(
            "SELECT 1 FROM pg_indexes WHERE schemaname = 'nicheflow' AND indexname = %s", (name,)
        ).fetchone()
    ):
        return
    conn.execute(
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON facts USING gin (search) WHERE channel = {}").format(
            sql.Identifier(name), sql.Literal(channel)
        )
    )


def topic_terms(conn: Conn, lang: str, topic: str) -> list[str]:
    """The topic's searchable lexemes (stop words dropped, stemmed)."""
    row = one(conn.execute("SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s)) AS t", (lang, topic)))
    return list(row["t"])


def terms_matched(conn: Conn, channel: str, terms: list[str], fact_ids: list[int]) -> set[str]:
    if not fact_ids or not terms:
        return set()
    rows = conn.execute(
        "SELECT DISTINCT unnest(tsvector_to_array(search)) AS term FROM facts WHERE channel = %s AND id = ANY(%s)",
        (channel, fact_ids),
    ).fetchall()
    return {r["term"] for r in rows} & set(terms)


@dataclass
class AddResult:
    new_ids: list[int]
    duplicates: int  # exact or near-identical claims already stored (trigram similarity >= NEAR_DUPLICATE)
    conflicts: int = 0  # new facts whose numbers disagree with a stored fact about the same thing


NEAR_DUPLICATE = 0.8
SAME_SUBJECT = 0.45  # similar enough to be about the same thing; if the numbers differ, they conflict


def flag_conflicts(conn: Conn, channel: str, fact_id: int) -> list[int]:
    """Facts of this channel about the same thing (similar wording) whose numbers disagree with this one —
    "launched in 1990" against "launched in 1991". Both sides are marked; the script review shows them."""
    row = one(
        conn.execute("SELECT claim FROM facts WHERE id = %s AND channel = %s", (fact_id, channel)),
        f"fact {fact_id} of channel {channel}",
    )
    mine = numbers(row["claim"])
    if not mine:
        return []
    others = conn.execute(
        """SELECT id, claim FROM facts WHERE channel = %s AND id <> %s AND claim %% %s
              AND similarity(claim, %s) >= %s AND (expires_at IS NULL OR expires_at > now())""",
        (channel, fact_id, row["claim"], row["claim"], SAME_SUBJECT),
    ).fetchall()
    conflicting = [o["id"] for o in others if numbers(o["claim"]) and numbers(o["claim"]) != mine]
    for other in conflicting:
        conn.execute(
            "UPDATE facts SET conflicts_with = array_append(conflicts_with, %s) "
            "WHERE id = %s AND NOT %s = ANY(conflicts_with)",
            (other, fact_id, other),
        )
        conn.execute(
            "UPDATE facts SET conflicts_with = array_append(conflicts_with, %s) "
            "WHERE id = %s AND NOT %s = ANY(conflicts_with)",
            (fact_id, other, fact_id),
        )
    return conflicting


def conflicts_of(conn: Conn, channel: str, ids: list[int]) -> dict[int, list[Fact]]:
    rows = conn.execute(
        f"""SELECT f.id AS of, {", ".join("c." + c.strip() for c in _COLUMNS.split(","))}
                              FROM facts f JOIN facts c ON c.id = ANY(f.conflicts_with) AND c.channel = f.channel
                             WHERE f.channel = %s AND f.id = ANY(%s)""",
        (channel, ids),
    ).fetchall()
    out: dict[int, list[Fact]] = {}
    for r in rows:
        out.setdefault(r.pop("of"), []).append(Fact(**r))
    return out


def add_facts(conn: Conn, channel: str, lang: str, facts: Sequence[Mapping[str, Any]]) -> AddResult:
    """Insert facts (claim, source_title, source_url, source_path, position, confidence), with the names and
    years they mention as `entities`. A claim that is
    already stored, exactly or nearly (same sentence from another source, different punctuation) and with
    the same numbers, is not stored again; one whose numbers differ is stored and flagged as a conflict."""
    result = AddResult([], 0)
    for f in facts:
        near = [
            r
            for r in conn.execute(
                """SELECT claim FROM facts WHERE channel = %s AND claim %% %s AND similarity(claim, %s) >= %s""",
                (channel, f["claim"], f["claim"], NEAR_DUPLICATE),
            )
            if numbers(r["claim"]) == numbers(f["claim"])
        ]
        row = (
            None
            if near
            else conn.execute(
                """INSERT INTO facts (channel, language, claim, source_title, source_url, source_path, position,
                                  confidence, entities)
               VALUES (%s, %s::regconfig, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (channel, claim) DO NOTHING RETURNING id""",
                (
                    channel,
                    lang,
                    f["claim"],
                    f["source_title"],
                    f.get("source_url"),
                    f.get("source_path"),
                    f.get("position", 0),
                    f.get("confidence", 0.9),
                    entities(f["claim"]),
                ),
            ).fetchone()
        )
        if row:
            result.new_ids.append(row["id"])
            result.conflicts += len(flag_conflicts(conn, channel, row["id"]))
        else:
            result.duplicates += 1
    return result


def record_usage(
    conn: Conn,
    channel: str,
    production_id: int,
    reused: int,
    new: int,
    duplicates: int,
    external_calls: int,
    providers: list[str],
    questions: list[dict],
) -> None:
    conn.execute(
        """INSERT INTO knowledge_usage (production_id, channel, facts_reused, facts_new, duplicates, external_calls,
                                        providers, questions) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (production_id) DO UPDATE SET facts_reused = EXCLUDED.facts_reused,
               facts_new = EXCLUDED.facts_new, duplicates = EXCLUDED.duplicates,
               external_calls = EXCLUDED.external_calls, providers = EXCLUDED.providers,
               questions = EXCLUDED.questions, recorded_at = now()""",
        (production_id, channel, reused, new, duplicates, external_calls, providers, Jsonb(questions)),
    )


def log_research(
    conn: Conn,
    channel: str,
    production_id: int,
    provider: str,
    query: str,
    question: str | None,
    candidates: int,
    new: int,
) -> None:
    conn.execute(
        """INSERT INTO research_log (channel, production_id, provider, query, question, candidates,
                                              new_facts) VALUES (%s, %s, %s, %s, %s, %s, %s)""",
        (channel, production_id, provider, query, question, candidates, new),
    )


def asked_recently(conn: Conn, channel: str, provider: str, query: str, days: int) -> bool:
    return (
        conn.execute(
            """SELECT 1 FROM research_log WHERE channel = %s AND provider = %s AND lower(query) = lower(%s)
              AND asked_at > now() - make_interval(days => %s) LIMIT 1""",
            (channel, provider, query, days),
        ).fetchone()
        is not None
    )


def reuse_rate(conn: Conn, channel: str) -> float | None:
    """Share of the facts this channel's productions used that were already in its knowledge base."""
    row = one(
        conn.execute(
            "SELECT sum(facts_reused) AS r, sum(facts_new) AS n FROM knowledge_usage WHERE channel = %s",
            (channel,),
        )
    )
    total = (row["r"] or 0) + (row["n"] or 0)
    return round(row["r"] / total, 3) if total else None


def fact_count(conn: Conn, channel: str) -> int:
    """The channel's current facts (not expired, not consolidated into another)."""
    return one(
        conn.execute(
            "SELECT count(*) AS n FROM facts WHERE channel = %s AND (expires_at IS NULL OR expires_at > now())",
            (channel,),
        )
    )["n"]


SOURCE_KEY = "coalesce(source_path, source_url, source_title)"  # a local file, a web page, or a named source


def source_key(f: Fact) -> str:
    return f.source_path or f.source_url or f.source_title


def facts_from_sources(conn: Conn, channel: str, sources: list[str]) -> list[Fact]:
    """Every current fact of these sources (see source_key), in the sources' order and each source's
    sentence order."""
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM facts
             WHERE channel = %s AND {SOURCE_KEY} = ANY(%s) AND (expires_at IS NULL OR expires_at > now())
             ORDER BY array_position(%s, {SOURCE_KEY}), position""",
        (channel, sources, sources),
    ).fetchall()
    return [Fact(**r) for r in rows]


def get_facts(conn: Conn, channel: str, ids: list[int]) -> list[Fact]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM facts WHERE channel = %s AND id = ANY(%s) ORDER BY id", (channel, ids)
    ).fetchall()
    return [Fact(**r) for r in rows]


def record_coverage(
    conn: Conn,
    channel: str,
    topic: str,
    production_id: int,
    fact_ids: list[int],
    subtopics: Sequence[str] = (),
) -> None:
    conn.execute(
        """INSERT INTO coverage (channel, topic, production_id, fact_ids, subtopics) VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (channel, production_id) DO UPDATE SET fact_ids = EXCLUDED.fact_ids,
               subtopics = EXCLUDED.subtopics""",
        (channel, topic, production_id, fact_ids, list(subtopics)),
    )


def recent_learnings(conn: Conn, channel: str, limit: int = 12) -> list[str]:
    """The channel's latest lessons of its reviews (and any other kept lesson that is not an audience
    learning, which audience_learnings gives with its rule), newest first, for the next prompt; retired
    lessons are left out."""
    return [
        r["lesson"]
        for r in conn.execute(
            "SELECT lesson FROM learnings WHERE channel = %s AND kind NOT LIKE 'audience:%%' AND retired_at IS NULL"
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            (channel, limit),
        )
    ]


def add_learning(conn: Conn, channel: str, production_id: int, kind: str, lesson: str) -> None:
    conn.execute(
        "INSERT INTO learnings (channel, production_id, kind, lesson) VALUES (%s, %s, %s, %s)",
        (channel, production_id, kind, lesson),
    )


@dataclass(frozen=True)
class AudienceLearning:
    """A learning from the channel's audience (knowledge.audience): `kind` 'audience:<what>', the `rule` the
    writers read ('opening:number', 'length:target_seconds', ...), the lesson with its figures, and the
    figures themselves (`evidence`)."""

    id: int
    kind: str
    rule: str
    lesson: str
    evidence: dict[str, Any]


def audience_learnings(conn: Conn, channel: str) -> list[AudienceLearning]:
    """The channel's active audience learnings (not retired), in the order they were learned."""
    rows = conn.execute(
        "SELECT id, kind, rule, lesson, evidence FROM learnings WHERE channel = %s AND kind LIKE 'audience:%%'"
        " AND retired_at IS NULL AND rule IS NOT NULL ORDER BY id",
        (channel,),
    )
    return [
        AudienceLearning(r["id"], r["kind"], r["rule"], r["lesson"], dict(r["evidence"] or {})) for r in rows
    ]
