"""Brave web search with real httpx against a local fake that speaks its API, including its failures:
rejected and missing keys, rate limits, the monthly quota, 5xx."""

from __future__ import annotations

import logging

import pytest

from pipelines.errors import TransientError, is_permanent
from pipelines.providers.http import (
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from pipelines.providers.research.websearch import KEY_REJECTED
from tests.helpers.fake_research_servers import status
from tests.helpers.research import FACT_KEYS, KEY, websearch


def test_websearch_facts_from_snippets_with_the_key_in_the_header(brave):
    facts = websearch(brave).research("Hubble Space Telescope", max_results=5)
    claims = [f["claim"] for f in facts]
    assert facts and all(set(f) == FACT_KEYS for f in facts)
    assert all(f["confidence"] == 0.5 and f["source_path"] is None for f in facts)
    assert claims == [
        "The Hubble Space Telescope has been in orbit since April 1990.",
        "It has made more than 1.5 million observations over its lifetime.",
        "Hubble orbits about 515 kilometers above the surface of the Earth.",  # from extra_snippets
        "Hubble Space Telescope, the first sophisticated optical observatory placed into orbit around Earth, "
        "was launched on April 24, 1990.",
    ]  # the snippets cut with "..." are dropped, <strong> is stripped
    assert [(f["source_title"], f["source_url"], f["position"]) for f in facts] == [
        ("Hubble Space Telescope - NASA Science", "https://science.nasa.gov/mission/hubble/", 0),
        ("Hubble Space Telescope - NASA Science", "https://science.nasa.gov/mission/hubble/", 1),
        ("Hubble Space Telescope - NASA Science", "https://science.nasa.gov/mission/hubble/", 2),
        ("Hubble Space Telescope | Britannica", "https://www.britannica.com/topic/Hubble-Space-Telescope", 0),
    ]
    [req] = brave.requests
    assert req.path == "/res/v1/web/search"
    assert req.headers["x-subscription-token"] == KEY and req.headers["accept"] == "application/json"
    assert req.query["q"] == "Hubble Space Telescope" and req.query["count"] == "5"
    assert req.query["search_lang"] == "en"


def test_websearch_portuguese(brave):
    facts = websearch(brave, language="pt-BR").research("Independência do Brasil")
    assert (
        facts[0]["claim"]
        == "A Independência do Brasil foi proclamada por D. Pedro em 7 de setembro de 1822, em São Paulo."
    )
    assert brave.requests[0].query["search_lang"] == "pt-br" and brave.requests[0].query["country"] == "BR"


def test_websearch_no_results_is_empty(brave):
    assert websearch(brave).research("xyzzy plugh quux") == []


@pytest.mark.parametrize("how", ["wrong key (Brave answers 422)", "401", "403"])
def test_websearch_rejected_key_fails_at_once(brave, how):
    if how.startswith("wrong"):
        ws = websearch(brave, key="not-the-key")
    else:
        brave.fail(status(int(how)))
        ws = websearch(brave)
    with pytest.raises(ProviderRejected) as e:  # a PermanentError: the task fails at once, not retried
        ws.research("Hubble Space Telescope")
    assert e.value.message == KEY_REJECTED and is_permanent(e.value)
    assert "Airflow connection 'websearch_default'" in str(e.value) and "BRAVE_SEARCH_API_KEY" in str(e.value)
    assert "not-the-key" not in str(e.value) and len(brave.requests) == 1


def test_websearch_missing_key_fails_before_any_request(brave):
    with pytest.raises(ProviderRejected, match="no web search key: set one in the Airflow connection"):
        websearch(brave, key="  ").research("Hubble")
    assert brave.requests == []


def test_websearch_never_logs_the_key(brave, caplog):
    secret = "sk-brave-SECRET-0123456789"
    brave.valid_key = secret
    brave.fail(status(503), status(401))
    ws = websearch(brave, key=secret)
    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as e:
        ws.research("Hubble Space Telescope")
    assert [r.status for r in brave.requests] == [503, 401]
    assert "retrying" in caplog.text
    assert secret not in caplog.text and secret not in str(e.value) and secret not in repr(ws)


def test_websearch_429_without_retry_after_uses_the_rate_limit_headers(brave):
    brave.fail(status(429, headers={"X-RateLimit-Remaining": "0, 1500", "X-RateLimit-Reset": "1, 1419704"}))
    assert websearch(brave).research("Hubble Space Telescope")
    first, second = brave.requests
    assert first.status == 429 and second.status == 200 and 0.95 <= second.at - first.at < 1.8


def test_websearch_monthly_quota_used_up_fails_at_once(brave):
    brave.fail(status(429, headers={"X-RateLimit-Remaining": "1, 0", "X-RateLimit-Reset": "1, 1419704"}))
    with pytest.raises(ProviderError, match="rate-limited and asks to wait 1419704 s") as e:
        websearch(brave).research("Hubble Space Telescope")
    assert e.value.status == 429 and len(brave.requests) == 1


def test_a_brave_5xx_through_every_attempt_is_transient(brave):
    brave.fail(*[status(502)] * 2)
    with pytest.raises(TransientError) as e:
        websearch(brave, max_attempts=2).research("Hubble Space Telescope")
    assert isinstance(e.value, ProviderUnavailable) and not is_permanent(e.value)
    assert "gave up on GET" in str(e.value) and "try again later" in str(e.value)
    assert [r.status for r in brave.requests] == [502, 502]
