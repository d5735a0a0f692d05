"""Rows the operating metrics read, as the stages leave them: productions (published on given days, failed,
running), decided and pending checkpoints with known waits, a Short on YouTube, knowledge usage, costs and
timed API calls (pipelines.latency's table). `seed(conn)` makes the set the metric tests and the pages use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipelines import costs


def _now() -> datetime:
    """Read at each call, not at import: a suite runs for half an hour after this module is imported."""
    return datetime.now(UTC)


def production(
    conn, channel: str, topic: str, status: str = "published", *, at: datetime | None = None
) -> int:
    at = at or _now()
    return conn.execute(
        "INSERT INTO productions (channel, topic, dag_run_id, status, workspace, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (channel, topic, f"manual__{topic}", status, f"/tmp/ws/{channel}", at - timedelta(hours=2), at),
    ).fetchone()["id"]


def checkpoint(conn, production_id: int, stage: str, wait_s: float | None, *, revision: int = 1) -> int:
    """A checkpoint decided after `wait_s` seconds, or pending (None) for an hour now."""
    now = _now()
    channel = conn.execute("SELECT channel FROM productions WHERE id = %s", (production_id,)).fetchone()
    opened = now - timedelta(hours=1) if wait_s is None else now - timedelta(days=1)
    decided = None if wait_s is None else opened + timedelta(seconds=wait_s)
    return conn.execute(
        "INSERT INTO checkpoints (production_id, channel, stage, revision, status, reviewer, created_at,"
        " decided_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            production_id,
            channel["channel"],
            stage,
            revision,
            "pending" if wait_s is None else "approved",
            None if wait_s is None else "reviewer",
            opened,
            decided,
        ),
    ).fetchone()["id"]


def api_call(conn, provider: str, seconds: float, outcome: str = "ok", channel: str | None = None) -> None:
    conn.execute(
        "INSERT INTO api_calls (provider, operation, seconds, outcome, ok, channel) VALUES (%s, 'test', %s, %s,"
        " %s, %s)",
        (provider, seconds, outcome, outcome == "ok", channel),
    )


def usage(conn, channel: str, production_id: int, reused: int, new: int) -> None:
    conn.execute(
        "INSERT INTO knowledge_usage (production_id, channel, facts_reused, facts_new) VALUES (%s, %s, %s, %s)",
        (production_id, channel, reused, new),
    )


def seed(conn) -> dict[str, int]:
    """science_en: 3 long-form videos published (today, yesterday, yesterday), a Short on YouTube today, one
    failed run and one running, script waits of 60/120/180 s and one pending for an hour, Groq calls of 0..100
    s (101 of them, one failed), knowledge 8 reused / 2 new, $0.30 and $0.10 spent on two videos.
    historia_ptbr: 1 published 3 days ago, one rejected, Wikipedia calls of 1 and 3 s, knowledge 1 / 3, one
    free video (espeak)."""
    day, now = timedelta(days=1), _now()
    ids = {
        "sci1": production(conn, "science_en", "Hubble"),
        "sci2": production(conn, "science_en", "Voyager", at=now - day),
        "sci3": production(conn, "science_en", "Apollo 11", at=now - day),
        "sci_failed": production(conn, "science_en", "Mars rovers", "running"),
        "sci_running": production(conn, "science_en", "James Webb", "running"),
        "his1": production(conn, "historia_ptbr", "Santos Dumont", at=now - 3 * day),
        "his_rejected": production(conn, "historia_ptbr", "Dom Pedro", "rejected"),
    }
    conn.execute(
        "INSERT INTO youtube_uploads (item, channel, production_id, kind, project, size_bytes, video_id, privacy,"
        " state) VALUES (%s, 'science_en', %s, 'short', 'p', 1000, 'vidS1', 'private', 'published')",
        (f"{ids['sci1']:05d}-short-1", ids["sci1"]),
    )
    # its script failed after its retries: the failure callback marked it needs attention
    conn.execute(
        "INSERT INTO attention (channel, production_id, dag_id, dag_run_id, task_id, stage, category, error,"
        " advice) VALUES ('science_en', %s, 'longform_science_en', 'manual__Mars rovers', 'script', 'script',"
        " 'transient', 'Groq API error HTTP 503', 'retry when it is back')",
        (ids["sci_failed"],),
    )
    for wait in (60, 120, 180):
        checkpoint(conn, ids["sci1"], "script", wait, revision=wait // 60)
    ids["pending"] = checkpoint(conn, ids["sci_running"], "script", None)
    checkpoint(conn, ids["his1"], "audio", 30)
    for s in range(101):
        api_call(conn, "groq", float(s), "ok" if s else "http_503", "science_en")
    api_call(conn, "wikipedia", 1.0, channel="historia_ptbr")
    api_call(conn, "wikipedia", 3.0, channel="historia_ptbr")
    usage(conn, "science_en", ids["sci1"], 8, 2)
    usage(conn, "historia_ptbr", ids["his1"], 1, 3)
    costs.record(conn, ids["sci1"], "script:r1:llm", "llm", "groq", 1000, "tokens", 0.30)
    costs.record(conn, ids["sci2"], "script:r1:llm", "llm", "groq", 300, "tokens", 0.10)
    costs.record(conn, ids["his1"], "audio:r1:tts", "tts", "espeak", 900, "characters")
    return ids
