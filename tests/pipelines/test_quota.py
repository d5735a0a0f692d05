"""The quota ledger in the real PostgreSQL: which API a call spends, and the production it was made for."""

from __future__ import annotations

from pipelines import production, quota
from pipelines.db import connect


def test_the_ledger_keeps_the_api_and_the_production_of_each_call(database):
    with connect() as conn:
        pid = production.create(conn, "science_en", "The Hubble Space Telescope", "run-1").id
    ledger = quota.Ledger("main", "science_en")
    ledger.record("videos.insert", True, production_id=pid)
    ledger.record("captions.insert", True, production_id=pid)
    ledger.record("reports.query", True)
    ledger.record("reports.query", False, "backendError")
    with connect() as conn:
        rows = conn.execute(
            "SELECT method, api, units, production_id FROM youtube_calls ORDER BY id"
        ).fetchall()
        spent = quota.spent(conn, "main")
        queries = quota.analytics_queries(conn, "main")
    assert [(r["method"], r["api"], r["production_id"]) for r in rows] == [
        ("videos.insert", "data", pid),
        ("captions.insert", "data", pid),
        ("reports.query", "analytics", None),
        ("reports.query", "analytics", None),
    ]
    assert (spent.units, spent.uploads, queries) == (
        400,
        1,
        2,
    )  # the Analytics queries are not Data API units
    assert spent.publishes_left(451) == (quota.DAILY_UNITS - 400) // 451
