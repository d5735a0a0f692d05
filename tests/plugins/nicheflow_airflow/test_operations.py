"""/review/metrics and the Operations page on real rows in PostgreSQL: the Prometheus exposition parsed with
prometheus_client's own parser, the scrape token (and 401 without it), the page's template with its charts,
and Airflow's own metrics switched on by the environment as the README says."""

from __future__ import annotations

import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipelines.db import connect
from pipelines.paths import REPO
from tests.helpers import metrics_rows

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; pytest does not

TOKEN = "scrape-token-for-tests"


@pytest.fixture
def seeded(database):
    with connect() as conn:
        return metrics_rows.seed(conn)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


@pytest.fixture
def client(monkeypatch):
    from fastapi.testclient import TestClient
    from nicheflow_airflow.review_app import app

    monkeypatch.setenv("NICHEFLOW_METRICS_TOKEN", TOKEN)
    with TestClient(app, root_path="/review") as c:
        yield c


def test_the_scrape_token_reads_every_channels_metrics(seeded, client):
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    got = samples(r.text)
    sci, his = ("channel", "science_en"), ("channel", "historia_ptbr")
    assert got[("nicheflow_videos_published_total", (sci, ("kind", "longform")))] == 3
    assert got[("nicheflow_videos_published_total", (sci, ("kind", "short")))] == 1
    assert got[("nicheflow_videos_published_today", (sci,))] == 2
    assert got[("nicheflow_checkpoint_wait_seconds", (sci, ("quantile", "0.5"), ("stage", "script")))] == 150
    assert got[("nicheflow_checkpoint_wait_seconds_count", (sci, ("stage", "script")))] == 4
    assert got[("nicheflow_checkpoints_pending", (sci, ("stage", "script")))] == 1
    assert got[("nicheflow_runs_failed_ratio", (sci,))] == 0.2
    assert got[("nicheflow_runs", (his, ("status", "rejected")))] == 1
    assert got[("nicheflow_api_latency_seconds", (("provider", "groq"), ("quantile", "0.99")))] == 99
    assert got[("nicheflow_api_latency_seconds_count", (("provider", "wikipedia"),))] == 2
    assert got[("nicheflow_api_calls_total", (sci, ("outcome", "http_503"), ("provider", "groq")))] == 1
    assert got[("nicheflow_knowledge_reuse_ratio", (his,))] == 0.25
    assert got[("nicheflow_knowledge_facts_total", (sci, ("origin", "reused")))] == 8
    assert got[("nicheflow_cost_per_video_usd", (sci,))] == 0.2
    assert got[("nicheflow_cost_usd_total", (sci,))] == pytest.approx(0.4)


def test_without_the_token_or_a_login_it_is_401(seeded, client):  # a wrong token: on the real stack (e2e)
    for headers in ({}, {"Authorization": f"Basic {TOKEN}"}):
        r = client.get("/metrics", headers=headers)
        assert r.status_code == 401, headers
        assert "nicheflow_" not in r.text
    assert r.headers["www-authenticate"] == "Bearer"


def test_the_openapi_documents_metrics_and_operations(client):
    spec = client.get("/openapi.json").json()
    metrics = spec["paths"]["/metrics"]["get"]
    assert (
        set(metrics["responses"]) >= {"200", "401"} and "text/plain" in metrics["responses"]["200"]["content"]
    )
    assert {"MetricsToken": []} in metrics["security"]
    assert "401" in spec["paths"]["/api/operations"]["get"]["responses"]


def test_the_operations_page_shows_each_metric_with_charts(seeded):
    from dataclasses import dataclass

    from nicheflow_airflow.operations_views import charts
    from nicheflow_airflow.review_pages import templates

    from pipelines import metrics

    @dataclass
    class Me:
        name: str = "viewer"

    with connect() as conn:
        snap = metrics.snapshot(conn)
    html = templates.get_template("operations.html").render(
        base="/review",
        me=Me(),
        snap=snap,
        charts=charts(snap),
        live_url="/review/api/operations",
        poll_ms=3000,
    )
    assert html.count('class="chart bar-chart"') == 2 and html.count('class="chart line-chart"') == 1
    assert 'data-series="science_en"' in html and 'data-series="p99"' in html
    assert "20%" in html and "(1 of 5)" in html  # science_en's failed runs
    assert "$0.2000" in html and "80%" in html  # its cost per video and knowledge reuse
    assert '"/review/api/operations"' in html  # the page polls its JSON


def _airflow_metrics_conf(tmp_path, **env: str) -> list[str]:
    """What Airflow reads from [metrics] under the project's airflow.cfg (as `nicheflow run` starts it) and
    the given environment."""
    code = (
        "from airflow.configuration import conf; print('RESULT', conf.getboolean('metrics', 'otel_on'), "
        "conf.getboolean('metrics', 'statsd_on'), conf.get('metrics', 'otel_prefix'), "
        "conf.get('metrics', 'statsd_port'))"
    )
    base = {
        "PATH": "/usr/bin:/bin",
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW_CONFIG": str(REPO / "airflow.cfg"),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return next(line.split()[1:] for line in out.stdout.splitlines() if line.startswith("RESULT"))


def test_airflow_reads_its_own_metrics_settings_as_the_readme_says(tmp_path):
    assert _airflow_metrics_conf(tmp_path)[:2] == ["False", "False"]  # off unless asked for
    otel = _airflow_metrics_conf(
        tmp_path, AIRFLOW__METRICS__OTEL_ON="True", AIRFLOW__METRICS__OTEL_PREFIX="nicheflow_airflow"
    )
    assert otel[:3] == ["True", "False", "nicheflow_airflow"]
    statsd = _airflow_metrics_conf(
        tmp_path, AIRFLOW__METRICS__STATSD_ON="True", AIRFLOW__METRICS__STATSD_PORT="9125"
    )
    assert statsd[:2] == ["False", "True"] and statsd[3] == "9125"
