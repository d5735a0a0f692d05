"""The online research providers (Wikipedia, Brave web search) with real httpx against local fake servers
that speak the real protocols, including their failures: timeouts, 429 with Retry-After, 5xx, bad keys."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from knowledge import store
from knowledge import text as sentences
from pipelines.db import connect
from pipelines.errors import PermanentError, TransientError, is_permanent
from pipelines.providers.http import (
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RetryPolicy,
    parse_retry_after,
)
from pipelines.providers.research.websearch import KEY_REJECTED, WebSearch
from pipelines.providers.research.wikipedia import WikipediaSources, _fair_shares
from tests.helpers.fake_research_servers import Failure, FakeBraveSearch, FakeWikipedia, status, timeout

KEY = "test-key-valid"
FACT_KEYS = {"claim", "source_title", "source_url", "source_path", "position", "confidence"}
FAST = {"timeout": 2, "backoff": 0.05}


@pytest.fixture
def wiki():
    with FakeWikipedia() as server:
        yield server


@pytest.fixture
def brave():
    with FakeBraveSearch(valid_key=KEY) as server:
        yield server


def wikipedia(server: FakeWikipedia, language: str = "en", **kw) -> WikipediaSources:
    return WikipediaSources(language, base_url=server.base_url(language), **{**FAST, **kw})


def websearch(server: FakeBraveSearch, key: str = KEY, **kw) -> WebSearch:
    return WebSearch(key, base_url=server.url, **{**FAST, **kw})


# -- sentence splitting ---------------------------------------------------------------------------------


def test_sentences_keep_abbreviations_together_in_english():
    text = (
        "The idea came from Dr. Lyman Spitzer, who wrote about it in 1946. It flew on the U.S. Space "
        "Shuttle Discovery in April 1990. President John F. Kennedy set the goal of a Moon landing. "
        "The record is listed as No. 5 in the official NASA catalogue. Mr. Armstrong stepped onto the "
        "surface first. Then the crew went home."
    )
    assert sentences.split(text, "en") == [
        "The idea came from Dr. Lyman Spitzer, who wrote about it in 1946.",
        "It flew on the U.S. Space Shuttle Discovery in April 1990.",
        "President John F. Kennedy set the goal of a Moon landing.",
        "The record is listed as No. 5 in the official NASA catalogue.",
        "Mr. Armstrong stepped onto the surface first.",
        "Then the crew went home.",
    ]


def test_sentences_keep_abbreviations_together_in_portuguese():
    text = (
        "Em 49 a.C. César atravessou o rio Rubicão com uma legião. O Sr. Silva visitou o museu em 2019 com "
        "a família. O Mal. Deodoro da Fonseca proclamou a República em 1889. A obra foi escrita no séc. XIX "
        "por um autor carioca. Ele reinou depois de D. Pedro I. Em seguida veio a Regência. O calendário "
        "juliano entrou em vigor em 45 a.C. e durou muitos séculos."
    )
    assert sentences.split(text, "pt-BR") == [
        "Em 49 a.C. César atravessou o rio Rubicão com uma legião.",
        "O Sr. Silva visitou o museu em 2019 com a família.",
        "O Mal. Deodoro da Fonseca proclamou a República em 1889.",
        "A obra foi escrita no séc. XIX por um autor carioca.",
        "Ele reinou depois de D. Pedro I.",  # a Roman numeral after a name still ends the sentence
        "Em seguida veio a Regência.",
        "O calendário juliano entrou em vigor em 45 a.C. e durou muitos séculos.",
    ]


def test_claims_are_complete_sentences_of_6_to_60_words():
    long = "The telescope " + "really " * 60 + "works."
    text = (
        f"Hubble orbits Earth. {long} The mirror was ground to the wrong shape in 1990. Since then the "
        "telescope has made more than ... \nA list item without a full stop at all here\n"
        "... and it was launched in April 1990 by the crew."
    )
    assert sentences.claim_sentences(text, "en") == ["The mirror was ground to the wrong shape in 1990."]
    with pytest.raises(ValueError, match="pt-BR"):
        sentences.split("x", "fr")


# -- retry helpers --------------------------------------------------------------------------------------


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None) is None
    policy = RetryPolicy(backoff=1, backoff_max=4)
    delays = [policy.backoff_delay(a) for a in (1, 2, 3, 4, 5)]
    assert (
        0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2 and 2 <= delays[2] <= 4 and all(d <= 4 for d in delays)
    )
    assert _fair_shares([30, 4, 10], 12) == [4, 4, 4] and _fair_shares([30, 2], 12) == [10, 2]


# -- Wikipedia ------------------------------------------------------------------------------------------


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
    with pytest.raises(ProviderError, match="gave up .* after 3 attempts") as e:
        wikipedia(wiki, max_attempts=3).research("Apollo 11")
    assert e.value.status == 503 and len(wiki.requests) == 3


def test_wikipedia_too_long_retry_after_fails_at_once(wiki):
    wiki.fail(status(429, retry_after=3600))
    with pytest.raises(ProviderError, match="asks to wait 3600 s") as e:
        wikipedia(wiki, retry_after_cap=30).research("Apollo 11")
    assert e.value.status == 429 and len(wiki.requests) == 1


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


# -- web search (Brave) ---------------------------------------------------------------------------------


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
    with pytest.raises(ProviderError) as e:
        ws.research("Hubble Space Telescope")
    assert e.value.message == KEY_REJECTED and "websearch_default" in str(e.value)
    assert "BRAVE_SEARCH_API_KEY" in str(e.value)
    assert len(brave.requests) == 1


def test_websearch_missing_key_fails_before_any_request(brave):
    with pytest.raises(ProviderError, match="no web search key"):
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


# -- which failures are worth retrying (pipelines.errors) -----------------------------------------------


@pytest.mark.parametrize("how", ["wrong key (Brave answers 422)", "401", "403"])
def test_a_rejected_brave_key_is_permanent_and_says_what_to_set(brave, how):
    if how.startswith("wrong"):
        ws = websearch(brave, key="not-the-key")
    else:
        brave.fail(status(int(how)))
        ws = websearch(brave)
    with pytest.raises(PermanentError) as e:
        ws.research("Hubble Space Telescope")
    assert isinstance(e.value, ProviderRejected) and is_permanent(e.value)
    assert "the web search key was rejected" in str(e.value)
    assert "Airflow connection 'websearch_default'" in str(e.value) and "BRAVE_SEARCH_API_KEY" in str(e.value)
    assert "not-the-key" not in str(e.value) and len(brave.requests) == 1


def test_a_missing_brave_key_is_permanent(brave):
    with pytest.raises(ProviderRejected, match="no web search key: set one in the Airflow connection"):
        websearch(brave, key="").research("Hubble")


def test_a_brave_5xx_through_every_attempt_is_transient(brave):
    brave.fail(*[status(502)] * 2)
    with pytest.raises(TransientError) as e:
        websearch(brave, max_attempts=2).research("Hubble Space Telescope")
    assert isinstance(e.value, ProviderUnavailable) and not is_permanent(e.value)
    assert "gave up on GET" in str(e.value) and "try again later" in str(e.value)
    assert [r.status for r in brave.requests] == [502, 502]


def test_a_refused_wikipedia_call_is_permanent_and_says_what_to_fix(wiki):
    with pytest.raises(PermanentError) as e:
        wikipedia(wiki, user_agent="python-httpx/0.28.1").research("Apollo 11")
    assert isinstance(e.value, ProviderRejected) and e.value.status == 403
    assert "set user_agent to name this tool and give a contact" in str(e.value)
    with pytest.raises(ProviderRejected, match="check base_url"):
        WikipediaSources("en", base_url=wiki.url + "/nowhere", **FAST).research("Apollo 11")


def test_a_wikipedia_503_through_every_attempt_is_transient(wiki):
    wiki.fail(*[status(503)] * 3)
    with pytest.raises(TransientError) as e:
        wikipedia(wiki, max_attempts=3).research("Apollo 11")
    assert isinstance(e.value, ProviderUnavailable) and e.value.status == 503
    assert "gave up on GET" in str(e.value) and "after 3 attempts (last: HTTP 503)" in str(e.value)
    assert "try again later" in str(e.value) and not is_permanent(e.value)


def test_wikipedia_timing_out_every_time_is_transient(wiki):
    wiki.fail(*[timeout(1.0)] * 2)
    with pytest.raises(ProviderUnavailable, match=r"gave up .* after 2 attempts \(last: ReadTimeout") as e:
        wikipedia(wiki, timeout=0.3, max_attempts=2).research("Apollo 11")
    assert e.value.status is None and isinstance(e.value, TransientError)


def test_a_rate_limit_longer_than_the_client_waits_is_transient_and_says_how_long(wiki):
    wiki.fail(status(429, retry_after=3600))
    with pytest.raises(TransientError) as e:
        wikipedia(wiki, retry_after_cap=30).research("Apollo 11")
    assert isinstance(e.value, ProviderUnavailable) and e.value.retry_after == 3600


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


# -- the knowledge layer stores them --------------------------------------------------------------------


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
