"""Task `learnings`: what the channel keeps from a published production: its coverage (topic -> sub-topics
and facts used) and the lessons of its reviews. Its result is the channel's long-form Asset event."""

from __future__ import annotations

from knowledge import store
from pipelines import checkpoints, production
from pipelines.production import production_db, read_json


def run(production_id: int) -> dict:
    """Record coverage and review lessons, mark the production published; returns the Asset event's extra."""
    with production_db(production_id) as (conn, p):
        script = checkpoints.approved(conn, p.id, "script").artifacts
        segments = read_json(p.abs(script["script"]))["segments"]
        subtopics = [seg["heading"] for seg in segments if any(s["fact_ids"] for s in seg["sentences"])]
        store.record_coverage(conn, p.channel, p.topic, p.id, script["fact_ids"], subtopics)
        conn.execute("DELETE FROM learnings WHERE production_id = %s AND kind LIKE 'review:%%'", (p.id,))
        for cp in checkpoints.history(conn, p.id):
            if cp.notes:
                store.add_learning(
                    conn,
                    p.channel,
                    p.id,
                    f"review:{cp.stage}",
                    f"{cp.status} at revision {cp.revision}: {cp.notes}",
                )
        production.set_status(conn, p.id, "published")
    return {"production_id": p.id, "channel": p.channel, "topic": p.topic}
