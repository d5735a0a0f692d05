"""Wikipedia research with real httpx against a local fake that speaks the MediaWiki API, including its
failures: timeouts, 429 with Retry-After, 5xx, refusals, errors inside a 200; and what is stored of it."""

from __future__ import annotations

import time

import pytest

from knowledge import store
from pipelines.db import connect
from pipelines.errors import PermanentError, TransientError, is_permanent
from pipelines.providers.http import (
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from pipelines.providers.research.wikipedia import WikipediaSources
from tests.helpers.fake_research_servers import Failure, status, timeout
from tests.helpers.research import FACT_KEYS, FAST, websearch, wikipedia


def test_wikipedia_english_facts_from_the_page_with_its_url(wiki):
    facts = wikipedia(wiki).research("Hubble Space Telescope")
    claims = [f["claim"] for f in facts]
    assert facts and all(set(f) == FACT_KEYS for f in facts)
    assert {(f["source_title"], f["source_url"]) for f in facts} == {
        ("Hubble Space Telescope", "https://en.wikipedia.org/wiki/Hubble_Space_Telescope")
    }
    assert all(f["confidence"] == 0.8 and f["source_path"] is None for f in facts)
    assert [f["position"] for f in facts] == list(range(len(facts)))
    assert claims[0] == (
        "The Hubble Space Telescope is a space telescope that was launched into low Earth "
        "orbit in 1990 and remains in operation."
    )
    assert (
        "It was carried into orbit aboard the U.S. Space Shuttle Discovery on the STS-31 mission in April 1990."
        in claims
    )
    assert any(c.startswith("The astrophysicist Dr. Lyman Spitzer proposed") for c in claims)
    assert (
        "Astronauts visited the telescope five times between 1993 and 2009 to repair it and install new instruments."
        in claims
    )
    assert not any(
        "==" in c or "History" == c or "Servicing missions" in c for c in claims
    )  # headings dropped
    assert "Hubble orbits Earth." not in claims  # under 6 words
    assert not any(c.startswith("List of space telescopes") for c in claims)  # "See also" skipped

    search, extract = wiki.requests[0], wiki.requests[1:]
    assert search.path == "/en/w/api.php"
    assert search.query["list"] == "search" and search.query["srsearch"] == "Hubble Space Telescope"
    assert search.query["srlimit"] == "2" and search.query["format"] == "json"
    # the disambiguation page was a hit, was fetched, and gave no facts
    assert [r.query["pageids"] for r in extract] == ["1001", "1003"]
    for r in extract:
        assert r.query["prop"] == "extracts|info|pageprops" and r.query["explaintext"] == "1"
        assert r.query["inprop"] == "url" and "exintro" not in r.query  # exintro=0 would mean "intro only"
    assert all(
        r.headers["user-agent"] == "nicheflow/0.1 (research; contact: operator)" for r in wiki.requests
    )


def test_wikipedia_portuguese_facts_keep_abbreviations(wiki):
    w = wikipedia(wiki, "pt-BR")
    facts = w.research("Independência do Brasil")
    claims = [f["claim"] for f in facts]
    assert {f["source_url"] for f in facts} == {"https://pt.wikipedia.org/wiki/Independ%C3%AAncia_do_Brasil"}
    assert {f["source_title"] for f in facts} == {"Independência do Brasil"}
    assert (
        "O príncipe regente D. Pedro proclamou a independência em 7 de setembro de 1822, às margens do "
        "riacho Ipiranga, em São Paulo."
    ) in claims
    assert (
        "Em 9 de janeiro de 1822, D. Pedro decidiu permanecer no Brasil, episódio conhecido como Dia do Fico."
        in claims
    )
    assert not any("Antecedentes" in c or "==" in c for c in claims)
    assert wiki.requests[0].path == "/pt/w/api.php"

    facts = w.research("Júlio César Rubicão", max_pages=1)
    claims = [f["claim"] for f in facts]
    assert facts[0]["source_url"] == "https://pt.wikipedia.org/wiki/J%C3%BAlio_C%C3%A9sar"
    assert (
        "Ele nasceu em Roma em julho de 100 a.C. e pertencia à gente Júlia, uma família patrícia."
    ) in claims
    assert (
        "Em 49 a.C. César atravessou o rio Rubicão com uma legião, dando início a uma guerra civil contra "
        "Pompeu e o Senado."
    ) in claims
    assert any(c.startswith("César foi assassinado nos Idos de Março de 44 a.C. por") for c in claims)


def test_wikipedia_shares_the_fact_budget_between_pages(wiki):
    facts = wikipedia(wiki).research("orbit", max_pages=2, max_facts=6)
    by_page = [f["source_title"] for f in facts]
    assert by_page == ["Hubble Space Telescope"] * 3 + ["Apollo 11"] * 3
    assert [f["position"] for f in facts] == [0, 1, 2, 0, 1, 2]


def test_wikipedia_no_results_is_empty_not_an_error(wiki):
    assert wikipedia(wiki).research("xyzzy plugh quux") == []
    assert len(wiki.requests) == 1


def test_wikipedia_429_waits_for_retry_after_then_succeeds(wiki):
    wiki.fail(status(429, retry_after=1))
    facts = wikipedia(wiki).research("Apollo 11", max_pages=1)
    assert facts and facts[0]["source_title"] == "Apollo 11"
    first, second = wiki.requests[0], wiki.requests[1]
    assert first.status == 429 and second.status == 200 and second.query == first.query
    assert 0.95 <= second.at - first.at < 1.8


def test_wikipedia_503_twice_then_success(wiki):
    wiki.fail(status(503), status(503))
    facts = wikipedia(wiki).research("Apollo 11", max_pages=1)
    assert facts
    assert [r.status for r in wiki.requests] == [503, 503, 200, 200]


def test_wikipedia_read_timeout_then_success(wiki):
    wiki.fail(timeout(1.0))
    started = time.monotonic()
    facts = wikipedia(wiki, timeout=0.3).research("Apollo 11", max_pages=1)
    assert facts and time.monotonic() - started < 1.0  # gave up on the slow answer instead of waiting for it
    assert len(wiki.requests) == 3 and wiki.requests[0].query == wiki.requests[1].query


@pytest.mark.parametrize("code", [404, 400])
def test_wikipedia_client_errors_are_not_retried(wiki, code):
    wiki.fail(status(code))
    with pytest.raises(ProviderError) as e:
        wikipedia(wiki).research("Apollo 11")
    assert e.value.status == code and e.value.provider == "wikipedia" and f"HTTP {code}" in str(e.value)
    assert len(wiki.requests) == 1


def test_wikipedia_wrong_base_url_says_so(wiki):
    with pytest.raises(ProviderError, match="no MediaWiki API at .*check base_url"):
        WikipediaSources("en", base_url=wiki.url + "/nowhere", **FAST).research("Apollo 11")


def test_wikipedia_gives_up_after_max_attempts(wiki):
    wiki.fail(*[status(503)] * 3)
    with pytest.raises(ProviderUnavailable) as e:  # a TransientError: the task is retried later
        wikipedia(wiki, max_attempts=3).research("Apollo 11")
    assert e.value.status == 503 and len(wiki.requests) == 3 and not is_permanent(e.value)
    assert "gave up on GET" in str(e.value) and "after 3 attempts (last: HTTP 503)" in str(e.value)
    assert "try again later" in str(e.value)


def test_wikipedia_too_long_retry_after_fails_at_once(wiki):
    wiki.fail(status(429, retry_after=3600))
    with pytest.raises(ProviderUnavailable, match="asks to wait 3600 s") as e:  # transient: worth a later try
        wikipedia(wiki, retry_after_cap=30).research("Apollo 11")
    assert e.value.status == 429 and e.value.retry_after == 3600 and len(wiki.requests) == 1


def test_wikipedia_api_error_in_a_200_is_an_error(wiki):
    wiki.fail(
        Failure(status=200, body={"error": {"code": "internal_api_error_DBQueryError", "info": "boom"}})
    )
    with pytest.raises(ProviderError, match="internal_api_error_DBQueryError"):
        wikipedia(wiki).research("Apollo 11")


def test_wikipedia_sends_the_user_agent_and_explains_a_refusal(wiki):
    wikipedia(wiki, user_agent="nicheflow-test/1.0 (ops@example.org)").research("Apollo 11", max_pages=1)
    assert {r.headers["user-agent"] for r in wiki.requests} == {"nicheflow-test/1.0 (ops@example.org)"}
    wiki.requests.clear()
    with pytest.raises(ProviderError, match="User-Agent") as e:
        wikipedia(wiki, user_agent="python-httpx/0.28.1").research("Apollo 11")
    assert e.value.status == 403 and len(wiki.requests) == 1


def test_a_refused_wikipedia_call_is_permanent_and_says_what_to_fix(wiki):
    with pytest.raises(PermanentError) as e:
        wikipedia(wiki, user_agent="python-httpx/0.28.1").research("Apollo 11")
    assert isinstance(e.value, ProviderRejected) and e.value.status == 403
    assert "set NICHEFLOW_CONTACT to your e-mail or URL" in str(e.value)
    with pytest.raises(ProviderRejected, match="check base_url"):
        WikipediaSources("en", base_url=wiki.url + "/nowhere", **FAST).research("Apollo 11")


def test_wikipedia_timing_out_every_time_is_transient(wiki):
    wiki.fail(*[timeout(1.0)] * 2)
    with pytest.raises(ProviderUnavailable, match=r"gave up .* after 2 attempts \(last: ReadTimeout") as e:
        wikipedia(wiki, timeout=0.3, max_attempts=2).research("Apollo 11")
    assert e.value.status is None and isinstance(e.value, TransientError)


def test_a_408_is_retried(wiki):
    wiki.fail(status(408))
    assert wikipedia(wiki).research("Apollo 11", max_pages=1)
    assert [r.status for r in wiki.requests][:2] == [408, 200]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("internal_api_error_DBQueryError", ProviderUnavailable),
        ("maxlag", ProviderUnavailable),
        ("badvalue", ProviderRejected),
    ],
)
def test_a_mediawiki_error_in_a_200_is_transient_only_when_the_wiki_is_busy(wiki, code, kind):
    wiki.fail(Failure(status=200, body={"error": {"code": code, "info": "boom"}}))
    with pytest.raises(kind, match=f"MediaWiki API error '{code}': boom"):
        wikipedia(wiki).research("Apollo 11")


def test_online_facts_are_stored_by_the_knowledge_layer(database, wiki, brave):
    wiki_facts = wikipedia(wiki, "pt-BR").research("Independência do Brasil")
    web_facts = websearch(brave, language="pt-BR").research("Independência do Brasil")
    with connect() as conn:
        store.add_facts(conn, "historia_ptbr", "portuguese", wiki_facts + web_facts)
        found = store.search_facts(conn, "historia_ptbr", "portuguese", "Dia do Fico")
        assert found[0].source_url == "https://pt.wikipedia.org/wiki/Independ%C3%AAncia_do_Brasil"
        assert found[0].source_path is None
        rows = conn.execute(
            "SELECT confidence, count(*) AS n FROM facts WHERE channel = 'historia_ptbr' "
            "GROUP BY confidence ORDER BY confidence"
        ).fetchall()
    # every encyclopedia sentence is stored; a web snippet that repeats one (nearly) may be kept out
    assert [float(r["confidence"]) for r in rows] == [0.5, 0.8]
    assert rows[1]["n"] == len(wiki_facts) and 1 <= rows[0]["n"] <= len(web_facts)
