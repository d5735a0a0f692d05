"""Task `learnings`: what the channel keeps from a published production: its coverage (topic -> sub-topics
and facts used) and the lessons of its reviews. Its result is the channel's long-form Asset event."""

from __future__ import annotations

from knowledge import store
from pipelines import checkpoints, production
from pipelines.artifacts import ScriptOutput
from pipelines.production import production_db


def run(production_id: int) -> dict:
    """Record coverage and review lessons, mark the production published; returns the Asset event's extra."""
    with production_db(production_id) as (conn, p):
        script = ScriptOutput.approved(conn, p.id)
        subtopics = [seg.heading for seg in script.load_script(p).segments if seg.cited_ids()]
        store.record_coverage(conn, p.channel, p.topic, p.id, script.fact_ids, subtopics)
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
