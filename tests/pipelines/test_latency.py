"""Every external call is timed with its outcome and written to PostgreSQL in one INSERT when the production's
connection closes: the real providers (the shared HTTP helper through Wikipedia and Brave, the Groq SDK)
against local servers that speak their protocols, and the rows they leave in api_calls."""

from __future__ import annotations

import httpx
import pytest
import structlog

from pipelines import latency
from pipelines.db import connect
from pipelines.production import channel_db, production_db
from pipelines.providers.http import ProviderRejected, ProviderUnavailable
from pipelines.providers.research.websearch import WebSearch
from pipelines.providers.writer.groq import GroqWriter
from tests.helpers import free_port
from tests.helpers.analytics_rows import production
from tests.helpers.fake_groq import FakeGroq
from tests.helpers.fake_research_servers import FakeBraveSearch, FakeWikipedia, status, timeout
from tests.helpers.research import KEY, websearch, wikipedia


def calls() -> list[dict]:
    with connect() as conn:
        return conn.execute(
            "SELECT provider, operation, outcome, ok, seconds, channel, production_id, stage FROM api_calls"
            " ORDER BY id"
        ).fetchall()


@pytest.fixture(autouse=True)
def empty_buffer():
    structlog.contextvars.clear_contextvars()  # no channel bound by another test
    latency._take()  # nothing buffered by another test
    yield
    latency._take()
    structlog.contextvars.clear_contextvars()


def test_a_productions_calls_are_written_with_it_when_its_connection_closes(database, data_dir, configs):
    with connect() as conn:
        pid = production(conn, "science_en", "The Hubble Space Telescope", status="running")
    with FakeWikipedia() as wiki, production_db(pid) as (conn, p):
        wiki.fail(status(503))
        provider = wikipedia(wiki)
        with httpx.Client(base_url=provider.base_url, headers={"User-Agent": provider.user_agent}) as client:
            assert provider.search(client, "Hubble", 3)  # a 503, retried, then the answer
        assert [o.outcome for o in latency.pending()] == ["http_503", "ok"]
        assert calls() == []  # nothing written while the stage works
    rows = calls()
    assert [(r["provider"], r["outcome"], r["ok"]) for r in rows] == [
        ("wikipedia", "http_503", False),
        ("wikipedia", "ok", True),
    ]
    assert {(r["channel"], r["production_id"], r["operation"]) for r in rows} == {
        ("science_en", pid, "GET /en/w/api.php")
    }
    assert all(0 < r["seconds"] < 5 for r in rows)
    assert latency.pending() == []


def test_failures_are_timed_with_what_went_wrong(database, data_dir, configs):
    with FakeBraveSearch(valid_key=KEY) as brave, channel_db("science_en"):
        with pytest.raises(ProviderRejected):
            websearch(brave, key="a-wrong-key").search("Hubble", 3)
        brave.fail(timeout(1))
        with pytest.raises(ProviderUnavailable):
            websearch(brave, max_attempts=1, timeout=0.3).search("Hubble", 3)
    with pytest.raises(ProviderUnavailable):
        WebSearch(KEY, base_url=f"http://127.0.0.1:{free_port()}", max_attempts=1).search("Hubble", 3)
    latency.flush()
    rows = calls()
    assert [(r["provider"], r["outcome"]) for r in rows] == [
        ("brave", "http_422"),
        ("brave", "timeout"),
        ("brave", "unreachable"),
    ]
    assert [r["channel"] for r in rows] == ["science_en", "science_en", None]  # the last outside a channel
    assert 0.25 < rows[1]["seconds"] < 0.9  # the client's timeout, not the server's 1 s


def test_groq_completions_are_timed_through_the_sdk(database):
    with FakeGroq() as fake:
        fake.add_completion('{"hook": "Hubble saw the deep field"}')
        fake.add_error(401, "Invalid API Key", code="invalid_api_key")
        writer = GroqWriter("gsk-test", base_url=fake.url, max_retries=0)
        assert writer.hook_line("Hubble saw the deep field in 1995.", "en")
        with pytest.raises(Exception, match="Invalid API Key"):
            writer.hook_line("Hubble saw the deep field in 1995.", "en")
        writer.close()
    assert latency.flush() == 2
    assert [(r["provider"], r["operation"], r["outcome"]) for r in calls()] == [
        ("groq", "chat.completions", "ok"),
        ("groq", "chat.completions", "http_401"),
    ]


def test_a_database_that_refuses_never_stops_the_stage(database, monkeypatch):
    latency.observe("Pexels", "GET /v1/search", 0.2)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/nicheflow")
    assert latency.flush() == 0  # logged, and the figures are dropped rather than kept forever
    monkeypatch.delenv("DATABASE_URL")
    assert calls() == [] and latency.pending() == []


def test_provider_labels():
    assert [latency.label(n) for n in ("YouTube", "YouTube Analytics", "web search", "pexels")] == [
        "youtube",
        "youtube",
        "brave",
        "pexels",
    ]
