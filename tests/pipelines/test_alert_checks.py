"""The ops DAG's checks: each tells a stalled checkpoint, a checkpoint's quality flags, a slow render and a
paused channel once, however often it runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from psycopg.types.json import Jsonb

from pipelines import alert_checks
from pipelines.db import connect

NOW = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


def production(conn, tmp_path, status="running", n=1) -> tuple[int, str]:
    ws = tmp_path / f"p{n}"
    ws.mkdir()
    row = conn.execute(
        "INSERT INTO productions (channel, topic, dag_run_id, workspace, status) "
        "VALUES ('science_en', %s, %s, %s, %s) RETURNING id",
        (f"Topic {n}", f"r{n}", str(ws), status),
    ).fetchone()
    return row["id"], str(ws)


def checkpoint(conn, pid, stage, artifacts, created_at=NOW - timedelta(hours=1), status="pending") -> int:
    return conn.execute(
        "INSERT INTO checkpoints (production_id, channel, stage, revision, status, artifacts, created_at, decided_at) "
        "VALUES (%s, 'science_en', %s, 1, %s, %s, %s, %s) RETURNING id",
        (pid, stage, status, Jsonb(artifacts), created_at, None if status == "pending" else created_at),
    ).fetchone()["id"]


def titles(conn) -> list[str]:
    return [r["title"] for r in conn.execute("SELECT title FROM alerts ORDER BY id")]


def test_stalled_and_quality_flags_are_told_once(database, tmp_path):
    with connect() as conn:
        pid, _ = production(conn, tmp_path, status="stalled")
        checkpoint(conn, pid, "script", {"script": "s.json"}, NOW - timedelta(hours=50))
        qa = {
            "status": "checked",
            "model": "tiny.en",
            "max_wer": 0.35,
            "segments": [
                {
                    "segment": 2,
                    "wer": 0.9,
                    "diff": "",
                    "flagged": True,
                    "expected": "a",
                    "heard": "the moon is cheese",
                },
                {"segment": 3, "wer": 0.1, "diff": "", "flagged": False, "expected": "b", "heard": "b"},
            ],
        }
        pid2, _ = production(conn, tmp_path, n=2)
        checkpoint(conn, pid2, "audio", {"narration": "n.wav", "qa": qa})
        checkpoint(conn, pid2, "script", {"script": "s.json", "grounding_flags": 2}, status="approved")
        for _ in range(3):
            alert_checks.stalled(conn, NOW)
            alert_checks.quality(conn, NOW)
        assert titles(conn) == [
            "script checkpoint stalled for 50 h: Topic 1",
            "script r1: 2 sentences the cited facts may not support",
            "narration r1: Whisper flagged 1 segment(s)",
        ]
        body = conn.execute("SELECT body FROM alerts WHERE key LIKE 'audio_qa:%'").fetchone()["body"]
        assert 'segment 3: WER 0.90; heard "the moon is cheese"' in body


def test_a_render_twice_as_slow_as_the_channels_median_is_a_warning(database, tmp_path):
    with connect() as conn:
        for n, secs in enumerate([30, 33, 36, 31, 70, 40], start=1):  # seconds to render 60 s of video
            pid, ws = production(conn, tmp_path, n=n)
            (tmp_path / f"p{n}" / "render.json").write_text(
                json.dumps({"duration": 60, "render_seconds": secs})
            )
            checkpoint(
                conn, pid, "final", {"render": "render.json"}, NOW - timedelta(hours=10 - n), "approved"
            )
        alert_checks.slow_renders(conn, NOW)
        alert_checks.slow_renders(conn, NOW)
        [row] = conn.execute("SELECT title, body FROM alerts").fetchall()  # 70 s against a median of 32 s
    assert row["title"] == "render 2.2x slower than usual: Topic 5"
    assert "1.17 s per second of video; the channel's median over its last 4 renders is 0.53 s" in row["body"]


def test_a_paused_channel_is_told_once_when_it_is_first_seen_paused(database):
    with connect() as conn:
        assert alert_checks.paused(conn, "science_en", "longform_science_en", False, NOW) is None
        assert alert_checks.paused(conn, "science_en", "longform_science_en", True, NOW) is not None
        assert (
            alert_checks.paused(conn, "science_en", "longform_science_en", True, NOW + timedelta(minutes=5))
            is None
        )
        assert (
            alert_checks.paused(conn, "science_en", "longform_science_en", False, NOW + timedelta(hours=1))
            is None
        )
        assert (
            alert_checks.paused(conn, "science_en", "longform_science_en", True, NOW + timedelta(hours=2))
            is not None
        )
        assert conn.execute("SELECT level, count(*) AS n FROM alerts GROUP BY level").fetchall() == [
            {"level": "critical", "n": 2}
        ]
