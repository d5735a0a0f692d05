"""The six operating metrics read from real rows in PostgreSQL, per channel and overall, and restricted to the
channels a viewer may read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines import metrics
from pipelines.db import connect
from tests.helpers import metrics_rows


@pytest.fixture
def seeded(database):
    with connect() as conn:
        return metrics_rows.seed(conn)


def test_published_per_day_per_channel(seeded):
    today = datetime.now(UTC).date()
    with connect() as conn:
        totals = metrics.published_totals(conn)
        days = metrics.published_per_day(conn, days=7)
    assert totals == {
        ("science_en", "longform"): 3,
        ("science_en", "short"): 1,
        ("historia_ptbr", "longform"): 1,
    }
    sci = dict(days["science_en"])
    assert len(sci) == 7 and sci[today] == 2 and sci[today - timedelta(days=1)] == 2  # the Short today
    assert dict(days["historia_ptbr"])[today - timedelta(days=3)] == 1
    assert sum(n for _, n in days[metrics.ALL]) == 5


def test_checkpoint_waits_count_the_pending_ones_so_far(seeded):
    with connect() as conn:
        waits = metrics.checkpoint_waits(conn)
        pending = metrics.pending_checkpoints(conn)
    script = waits[("science_en", "script")]
    assert script.count == 4  # 60, 120, 180 s and one waiting for an hour
    assert script.p50 == 150.0
    assert 2500 < script.p95 < 3600  # toward the hour the pending one has waited
    assert waits[(metrics.ALL, "audio")].count == 1 and waits[(metrics.ALL, "audio")].p50 == 30.0
    assert pending == {("science_en", "script"): 1}


def test_failed_runs_share(seeded):
    with connect() as conn:
        runs = metrics.runs(conn)
    assert (runs["science_en"].total, runs["science_en"].failed, runs["science_en"].failed_ratio) == (
        5,
        1,
        0.2,
    )
    assert runs["historia_ptbr"].failed_ratio == 0.0
    assert runs[metrics.ALL].total == 7 and runs[metrics.ALL].failed_ratio == round(1 / 7, 4)


def test_api_latency_quantiles_per_provider(seeded):
    with connect() as conn:
        lat = metrics.api_latency(conn)
        calls = metrics.api_calls(conn)
    groq = lat[(metrics.ALL, "groq")]
    assert (groq.count, groq.p50, groq.p95, groq.p99) == (101, 50.0, 95.0, 99.0)
    assert lat[("historia_ptbr", "wikipedia")].p50 == 2.0
    assert calls[("science_en", "groq", "http_503")] == 1 and calls[("science_en", "groq", "ok")] == 100


def test_knowledge_reuse_and_cost_per_video(seeded):
    with connect() as conn:
        reuse = metrics.knowledge_reuse(conn)
        cost = metrics.cost_per_video(conn)
    assert reuse["science_en"].ratio == 0.8 and reuse["historia_ptbr"].ratio == 0.25
    assert reuse[metrics.ALL].ratio == round(9 / 14, 3)
    assert cost["science_en"].per_video_usd == 0.2  # $0.40 over two videos
    assert cost["historia_ptbr"].per_video_usd == 0.0  # espeak is free
    assert cost[metrics.ALL].videos == 3 and cost[metrics.ALL].per_video_usd == round(0.4 / 3, 6)


def test_the_snapshot_shows_only_the_channels_asked_for(seeded):
    with connect() as conn:
        everything = metrics.snapshot(conn)
        only = metrics.snapshot(conn, ["historia_ptbr"])
    assert [c["channel"] for c in everything["channels"]] == ["historia_ptbr", "science_en", "overall"]
    assert everything["providers"] == ["groq", "wikipedia"]
    sci = everything["channels"][1]
    assert sci["published"] == {**sci["published"], "longform": 3, "short": 1}
    assert sci["checkpoint_waits"]["script"]["pending"] == 1
    assert sci["api_latency"]["groq"]["p99"] == 99.0
    assert [c["channel"] for c in only["channels"]] == ["historia_ptbr", "overall"]
    overall = only["channels"][-1]
    assert overall["runs"]["total"] == 2 and list(overall["api_latency"]) == ["wikipedia"]
    assert overall["published"]["longform"] == 1 and overall["cost_per_video"]["videos"] == 1
