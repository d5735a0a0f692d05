"""Knowledge upkeep for one channel: consolidate near-duplicate facts and expire outdated ones.

Nothing is deleted: a duplicate points at the fact it duplicates and expires, so old scripts that cite it
still resolve; queries only see current facts."""

from __future__ import annotations

from knowledge.store import NEAR_DUPLICATE, numbers
from pipelines.db import Conn, one


def consolidate(conn: Conn, channel: str) -> int:
    """Near-identical current claims: keep the most confident (then the oldest), expire the others."""
    rows = conn.execute(
        """WITH cur AS (SELECT id, claim, confidence FROM facts
                         WHERE channel = %(ch)s AND duplicate_of IS NULL
                           AND (expires_at IS NULL OR expires_at > now()))
           SELECT b.id AS dup, a.id AS keep, a.claim AS keep_claim, b.claim AS dup_claim FROM cur a JOIN cur b
               ON a.id <> b.id AND a.claim %% b.claim AND similarity(a.claim, b.claim) >= %(t)s
              AND (a.confidence, -a.id) > (b.confidence, -b.id)""",
        {"ch": channel, "t": NEAR_DUPLICATE},
    ).fetchall()
    keep_of: dict[int, int] = {}
    for r in rows:  # the best of each group, even through chains a~b~c; different numbers = a conflict, kept
        if numbers(r["keep_claim"]) == numbers(r["dup_claim"]):
            keep_of[r["dup"]] = min(keep_of.get(r["dup"], r["keep"]), r["keep"])
    for dup, keep in keep_of.items():
        while keep in keep_of:
            keep = keep_of[keep]
        conn.execute(
            "UPDATE facts SET duplicate_of = %s, expires_at = now() WHERE id = %s AND channel = %s",
            (keep, dup, channel),
        )
        conn.execute(
            """UPDATE coverage SET fact_ids = array_replace(fact_ids, %s, %s)
                         WHERE channel = %s AND %s = ANY(fact_ids)""",
            (dup, keep, channel, dup),
        )
    return len(keep_of)


def expire(conn: Conn, channel: str, ttl_days: int | None) -> int:
    if ttl_days is None:
        return 0
    cur = conn.execute(
        """UPDATE facts SET expires_at = now() WHERE channel = %s AND (expires_at IS NULL OR expires_at > now())
              AND retrieved_at < now() - make_interval(days => %s)""",
        (channel, ttl_days),
    )
    return cur.rowcount


def counts(conn: Conn, channel: str) -> dict:
    row = one(
        conn.execute(
            """SELECT count(*) FILTER (WHERE expires_at IS NULL OR expires_at > now()) AS current_facts,
                      count(*) FILTER (WHERE expires_at <= now()) AS expired_facts,
                      count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS duplicate_facts
                 FROM facts WHERE channel = %s""",
            (channel,),
        )
    )
    return dict(row)


def run(conn: Conn, channel: str, ttl_days: int | None) -> dict:
    merged = consolidate(conn, channel)
    expired = expire(conn, channel, ttl_days)
    return {"channel": channel, "consolidated": merged, "expired": expired, **counts(conn, channel)}
