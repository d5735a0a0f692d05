"""Groq script writer: the real `groq` SDK against a local fake of Groq's API (tests/pipelines/fake_groq.py).
No mock of the SDK: retries, backoff, headers and error classes are the SDK's own."""

from __future__ import annotations

import copy
import json
import logging
import socket

import pytest

from knowledge.store import Fact
from pipelines import grounding
from pipelines.errors import PermanentError, TransientError, is_permanent
from pipelines.providers.writer.base import Brief, Script, cited_ids, words
from pipelines.providers.writer.groq import (
    GroqWriter,
    LLMAuthError,
    LLMError,
    LLMOutputError,
    LLMRequestRejected,
    LLMUnavailable,
    cost_usd,
    groq_from_env,
)
from tests.helpers.fake_groq import FakeGroq

KEY = "gsk_test_SECRET_0123456789"

FACTS_EN = [
    Fact(
        1,
        "On July 20, 1969, Neil Armstrong became the first person to walk on the Moon.",
        "Apollo 11",
        "https://en.wikipedia.org/wiki/Apollo_11",
        "knowledge/sources/science_en/apollo.md",
        0,
    ),
    Fact(
        2,
        "The Apollo 11 crew launched from Kennedy Space Center on July 16, 1969, aboard a Saturn V rocket.",
        "Apollo 11",
        "https://en.wikipedia.org/wiki/Apollo_11",
        "knowledge/sources/science_en/apollo.md",
        1,
    ),
    Fact(
        3,
        "Armstrong and Buzz Aldrin spent about 21 hours on the lunar surface.",
        "Apollo 11",
        "https://en.wikipedia.org/wiki/Apollo_11",
        "knowledge/sources/science_en/apollo.md",
        2,
    ),
]
FACTS_PT = [
    Fact(
        10,
        "A Independência do Brasil foi proclamada por Dom Pedro I em 7 de setembro de 1822, às margens do "
        "riacho Ipiranga.",
        "Independência do Brasil",
        None,
        "knowledge/sources/historia_ptbr/indep.md",
        0,
    ),
    Fact(
        11,
        "Dom Pedro I foi coroado imperador do Brasil em 1º de dezembro de 1822.",
        "Independência do Brasil",
        None,
        "knowledge/sources/historia_ptbr/indep.md",
        1,
    ),
    Fact(
        12,
        "A Constituição de 1824 foi a primeira do Brasil independente.",
        "Primeiro Reinado",
        None,
        "knowledge/sources/historia_ptbr/reinado.md",
        0,
    ),
]

SCRIPT_EN = {
    "title": "Apollo 11: the first steps on the Moon",
    "hook": "What did it take to put people on another world?",
    "segments": [
        {
            "heading": "The launch",
            "visual_cue": "A Saturn V rocket lifting off",
            "on_screen_text": "Launch",
            "sentences": [
                {
                    "text": "The Apollo 11 crew launched from Kennedy Space Center on July 16, 1969, aboard a "
                    "Saturn V rocket.",
                    "fact_ids": [2],
                }
            ],
        },
        {
            "heading": "First steps",
            "visual_cue": "Footprints in grey lunar dust",
            "sentences": [
                {
                    "text": "On July 20, 1969, Neil Armstrong became the first person to walk on the Moon.",
                    "fact_ids": [1],
                },
                {"text": "Armstrong and Aldrin spent about 21 hours on the lunar surface.", "fact_ids": [3]},
                {"text": "Then it was time to come home.", "fact_ids": []},
            ],
        },
    ],
    "description": "How Apollo 11 reached the Moon. Sources: Apollo 11 (Wikipedia).",
    "tags": ["apollo 11", "moon landing", "nasa"],
    "chapters": [{"segment": 0, "title": "The launch"}, {"segment": 1, "title": "First steps"}],
}
SCRIPT_PT = {
    "title": "Independência do Brasil: o grito do Ipiranga",
    "hook": "Como o Brasil deixou de ser colônia?",
    "segments": [
        {
            "heading": "O grito",
            "visual_cue": "Pintura do riacho Ipiranga",
            "sentences": [
                {
                    "text": "Dom Pedro I proclamou a Independência do Brasil em 7 de setembro de 1822, às margens "
                    "do riacho Ipiranga.",
                    "fact_ids": [10],
                },
                {"text": "Mas a história não parou ali.", "fact_ids": []},
            ],
        },
        {
            "heading": "O império",
            "visual_cue": "Coroa imperial sobre fundo escuro",
            "on_screen_text": "1822",
            "sentences": [
                {
                    "text": "Em 1º de dezembro de 1822, Dom Pedro I foi coroado imperador do Brasil.",
                    "fact_ids": [11],
                },
                {"text": "A Constituição de 1824 foi a primeira do Brasil independente.", "fact_ids": [12]},
            ],
        },
    ],
    "description": "Da proclamação à primeira Constituição. Fontes: Independência do Brasil; Primeiro Reinado.",
    "tags": ["independência", "brasil império"],
    "chapters": [{"segment": 0, "title": "O grito"}, {"segment": 1, "title": "O império"}],
}
WORDS_EN = words(Script.model_validate(SCRIPT_EN))
WORDS_PT = words(Script.model_validate(SCRIPT_PT))


@pytest.fixture
def fake():
    with FakeGroq() as f:
        yield f


def writer(fake: FakeGroq, **kw) -> GroqWriter:
    return GroqWriter(KEY, base_url=fake.url, timeout=5, **kw)


def write_en(w: GroqWriter, **kw):
    return w.write(
        Brief(
            topic="Apollo 11",
            language="en",
            facts=FACTS_EN,
            target_words=kw.pop("target_words", WORDS_EN),
            **kw,
        )
    )


# -- the happy path ----------------------------------------------------------------------------------


def test_valid_portuguese_script_on_the_first_call(fake: FakeGroq) -> None:
    fake.add_completion(json.dumps(SCRIPT_PT, ensure_ascii=False), prompt_tokens=1500, completion_tokens=500)
    result = writer(fake).write(
        Brief(
            topic="Independência do Brasil",
            language="pt-BR",
            facts=FACTS_PT,
            target_words=WORDS_PT,
            tone="didático",
            audience="estudantes",
            learnings=["Frases curtas funcionam melhor."],
            notes="mais curto",
        )
    )

    assert result.script.title == SCRIPT_PT["title"]
    assert cited_ids(result.script) == {10, 11, 12}
    assert result.flags == []
    assert result.usage == {
        "prompt_tokens": 1500,
        "completion_tokens": 500,
        "total_tokens": 2000,
        "cost_usd": cost_usd("llama-3.3-70b-versatile", 1500, 500),
        "calls": 1,
        "model": "llama-3.3-70b-versatile",
    }

    [req] = fake.requests
    assert req.path == "/openai/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    body = req.json
    assert body["model"] == "llama-3.3-70b-versatile"
    assert body["response_format"] == {"type": "json_object"}
    assert body["temperature"] <= 0.5
    system, user = req.messages
    assert (system["role"], user["role"]) == ("system", "user")
    assert "Brazilian Portuguese" in system["content"] and '"fact_ids"' in system["content"]  # the schema
    assert "[10] A Independência do Brasil foi proclamada" in user["content"]
    assert "(source: Independência do Brasil)" in user["content"]
    assert "Frases curtas funcionam melhor." in user["content"]
    assert "didático" in user["content"] and "estudantes" in user["content"]
    assert "mais curto" in user["content"]
    lo, hi = GroqWriter.length_bounds(WORDS_PT)
    assert f"between {lo} and {hi} words" in user["content"]


# -- transport errors: the SDK's retries ----------------------------------------------------------------


def test_429_waits_retry_after_then_succeeds(fake: FakeGroq, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add_error(
        429,
        "Rate limit reached for model llama-3.3-70b-versatile",
        type="tokens",
        code="rate_limit_exceeded",
        headers={"retry-after": "0.8"},
    )
    fake.add_completion(json.dumps(SCRIPT_EN))
    result = write_en(writer(fake))

    assert result.usage["calls"] == 1  # one logical call; the retry is the SDK's
    first, second = fake.requests
    gap = second.time - first.time
    # retry-after honoured: at least 0.8 s, and not the SDK's own first backoff (0.375-0.5 s)
    assert 0.8 <= gap < 1.4, gap
    assert (first.headers["x-stainless-retry-count"], second.headers["x-stainless-retry-count"]) == ("0", "1")
    assert second.headers["authorization"] == f"Bearer {KEY}"
    assert "Retrying request" in caplog.text  # the SDK says so in the task log
    assert KEY not in caplog.text


def test_429_beyond_60s_retry_after_is_ignored_and_then_reported(fake: FakeGroq) -> None:
    for _ in range(2):
        fake.add_error(
            429,
            "Rate limit reached: tokens per day",
            type="tokens",
            code="rate_limit_exceeded",
            headers={"retry-after": "120"},
        )
    with pytest.raises(LLMError, match=r"HTTP 429: Rate limit reached.*retry-after was 120") as e:
        write_en(writer(fake, max_retries=1))
    assert not isinstance(e.value, LLMAuthError | LLMOutputError)
    first, second = fake.requests
    assert second.time - first.time < 1.0  # backoff (0.375-0.5 s), not the 120 s asked for


def test_500_then_success(fake: FakeGroq) -> None:
    fake.add_error(500, "Internal Server Error", type="internal_server_error")
    fake.add_completion(json.dumps(SCRIPT_EN))
    result = write_en(writer(fake))
    assert result.script.segments[1].heading == "First steps"
    first, second = fake.requests
    assert 0.3 <= second.time - first.time < 1.2  # the SDK's first backoff: 0.5 s minus up to 25% jitter


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_fails_at_once(fake: FakeGroq, status: int) -> None:
    fake.add_error(status, "Invalid API Key", code="invalid_api_key")
    fake.add_completion(json.dumps(SCRIPT_EN))  # must not be reached
    with pytest.raises(LLMAuthError, match="Airflow connection 'groq_default'") as e:
        write_en(writer(fake))
    assert len(fake.requests) == 1
    assert f"HTTP {status}" in str(e.value) and KEY not in str(e.value) and KEY not in repr(e.value)


def test_missing_key_fails_without_a_call(fake: FakeGroq) -> None:
    with pytest.raises(LLMAuthError, match="GROQ_API_KEY"):
        write_en(GroqWriter("", base_url=fake.url))
    assert fake.requests == []


def test_unreachable_server_is_an_llm_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    w = GroqWriter(KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0, timeout=2)
    with pytest.raises(LLMError, match="could not reach Groq") as e:
        write_en(w)
    assert isinstance(e.value, LLMUnavailable | TransientError)  # worth retrying later


def test_other_status_is_an_llm_error_with_status_and_message(fake: FakeGroq) -> None:
    fake.add_error(
        404, "The model `llama-9` does not exist or you do not have access to it.", code="model_not_found"
    )
    with pytest.raises(LLMError, match=r"HTTP 404: The model `llama-9` does not exist.*model_not_found"):
        write_en(writer(fake, model="llama-9"))
    assert len(fake.requests) == 1


# -- which errors are worth retrying (pipelines.errors) --------------------------------------------------


def test_a_rejected_key_is_permanent_and_says_what_to_set(fake: FakeGroq) -> None:
    fake.add_error(401, "Invalid API Key", code="invalid_api_key")
    with pytest.raises(PermanentError) as e:
        write_en(writer(fake))
    assert isinstance(e.value, LLMAuthError) and is_permanent(e.value)
    message = str(e.value)
    assert "Groq rejected the API key" in message and "HTTP 401" in message
    assert "Airflow connection 'groq_default'" in message and "GROQ_API_KEY" in message
    assert len(fake.requests) == 1  # not retried by the SDK either


def test_a_503_through_every_retry_is_transient(fake: FakeGroq) -> None:
    for _ in range(2):
        fake.add_error(503, "Service Unavailable", type="internal_server_error")
    with pytest.raises(TransientError) as e:
        write_en(writer(fake, max_retries=1))
    assert isinstance(e.value, LLMUnavailable) and not is_permanent(e.value)
    assert "Groq API error HTTP 503: Service Unavailable" in str(e.value) and "Try again later" in str(
        e.value
    )
    assert len(fake.requests) == 2  # the SDK's own retry happened first


def test_a_rate_limit_past_the_retries_is_transient(fake: FakeGroq) -> None:
    for _ in range(2):
        fake.add_error(429, "Rate limit reached", type="tokens", code="rate_limit_exceeded")
    with pytest.raises(LLMUnavailable, match="HTTP 429: Rate limit reached"):
        write_en(writer(fake, max_retries=1))


def test_an_unknown_model_is_permanent(fake: FakeGroq) -> None:
    fake.add_error(404, "The model `llama-9` does not exist.", code="model_not_found")
    with pytest.raises(LLMRequestRejected, match=r"model_not_found.*Not retried: fix the request") as e:
        write_en(writer(fake, model="llama-9"))
    assert is_permanent(e.value)


# -- output validation and the one repair round ----------------------------------------------------------


def test_malformed_json_is_repaired_and_usage_sums_both_calls(fake: FakeGroq) -> None:
    broken = '{"title": "Apollo 11", "hook": "What did it take?", "segments": [{"heading": '
    fake.add_completion(broken, prompt_tokens=1000, completion_tokens=30)
    fake.add_completion(json.dumps(SCRIPT_EN), prompt_tokens=1100, completion_tokens=420)
    result = write_en(writer(fake))

    assert result.script.title == SCRIPT_EN["title"]
    assert result.usage["calls"] == 2
    assert (
        result.usage["prompt_tokens"],
        result.usage["completion_tokens"],
        result.usage["total_tokens"],
    ) == (2100, 450, 2550)
    assert result.usage["cost_usd"] == pytest.approx((2100 * 0.59 + 450 * 0.79) / 1e6)

    first, second = fake.requests
    assert [m["role"] for m in second.messages] == ["system", "user", "assistant", "user"]
    assert second.messages[:2] == first.messages
    assert second.messages[2]["content"] == broken
    assert "not valid JSON" in second.messages[3]["content"]
    assert "complete JSON object" in second.messages[3]["content"]


def test_groq_json_validate_failed_goes_to_the_repair_round(fake: FakeGroq) -> None:
    failed = 'Here is your script: {"title": "Apollo 11"'
    fake.add_error(
        400,
        "Failed to generate JSON. Please adjust your prompt. See 'failed_generation' for more details.",
        code="json_validate_failed",
        failed_generation=failed,
    )
    fake.add_completion(json.dumps(SCRIPT_EN))
    result = write_en(writer(fake))
    assert result.usage["calls"] == 2
    second = fake.requests[1]
    assert second.messages[2] == {"role": "assistant", "content": failed}
    assert "not valid JSON" in second.messages[3]["content"]


def test_unknown_fact_id_is_repaired(fake: FakeGroq) -> None:
    bad = copy.deepcopy(SCRIPT_EN)
    bad["segments"][1]["sentences"][1]["fact_ids"] = [3, 99]
    fake.add_completion(json.dumps(bad))
    fake.add_completion(json.dumps(SCRIPT_EN))
    result = write_en(writer(fake))
    assert cited_ids(result.script) == {1, 2, 3}
    repair = fake.requests[1].messages[3]["content"]
    assert "segments[1].sentences[1] cites fact id(s) [99] that are not among the given facts" in repair
    assert "allowed: [1, 2, 3]" in repair


def test_schema_errors_are_sent_back_precisely(fake: FakeGroq) -> None:
    bad = copy.deepcopy(SCRIPT_EN)
    bad["title"] = "x" * 120
    bad["segments"][0]["mood"] = "epic"
    fake.add_completion(json.dumps(bad))
    fake.add_completion(json.dumps(SCRIPT_EN))
    write_en(writer(fake))
    repair = fake.requests[1].messages[3]["content"]
    assert "title: String should have at most 100 characters" in repair
    assert "segments[0].mood: Extra inputs are not permitted" in repair


def test_wrong_length_twice_raises_naming_the_length(fake: FakeGroq) -> None:
    fake.add_completion(json.dumps(SCRIPT_EN), prompt_tokens=1000, completion_tokens=400)
    fake.add_completion(json.dumps(SCRIPT_EN), prompt_tokens=1500, completion_tokens=400)
    target = WORDS_EN * 2
    with pytest.raises(LLMOutputError, match=rf"wrong length: the script has {WORDS_EN} spoken words") as e:
        write_en(writer(fake), target_words=target)
    lo, hi = GroqWriter.length_bounds(target)
    assert f"between {lo} and {hi} (target {target})" in str(e.value)
    assert len(fake.requests) == 2
    assert e.value.usage["calls"] == 2 and e.value.usage["total_tokens"] == 3300
    assert "wrong length" in fake.requests[1].messages[3]["content"]
    assert is_permanent(e.value) and "Try another llm.model" in str(e.value)  # not retried blindly


def test_unknown_model_has_no_price() -> None:
    assert cost_usd("some-future-model", 1000, 1000) is None
    assert cost_usd("llama-3.3-70b-versatile", 1_000_000, 1_000_000) == pytest.approx(0.59 + 0.79)


def test_groq_from_env(monkeypatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    assert groq_from_env() is None
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    w = groq_from_env(model="llama-3.1-8b-instant")
    assert isinstance(w, GroqWriter) and w.name == "groq" and w.model == "llama-3.1-8b-instant"
    assert KEY not in repr(w)


# -- schema and grounding (no network) ---------------------------------------------------------------------


def test_schema_limits() -> None:
    s = Script.model_validate(SCRIPT_EN)
    assert words(s) == WORDS_EN and cited_ids(s) == {1, 2, 3}
    for mutate in (
        lambda d: d["segments"].pop(),  # one segment
        lambda d: d["segments"][0]["sentences"].clear(),  # empty segment
        lambda d: d["segments"][0]["sentences"][0].update(text=" "),  # empty sentence
        lambda d: d.update(tags=[f"t{i}" for i in range(16)]),  # 16 tags
        lambda d: d["chapters"].append({"segment": 5, "title": "?"}),
    ):  # no such segment
        bad = copy.deepcopy(SCRIPT_EN)
        mutate(bad)
        with pytest.raises(ValueError):
            Script.model_validate(bad)


def _one_segment(*sentences: tuple[str, list[int]]) -> Script:
    return Script.model_validate(
        {
            "title": "t",
            "hook": "Uma pergunta?",
            "description": "",
            "tags": [],
            "segments": [
                {
                    "heading": "h",
                    "visual_cue": "v",
                    "sentences": [{"text": t, "fact_ids": ids} for t, ids in sentences],
                },
                {
                    "heading": "fim",
                    "visual_cue": "v",
                    "sentences": [{"text": "Até a próxima.", "fact_ids": []}],
                },
            ],
        }
    )


def test_grounding_passes_supported_sentences() -> None:
    facts = {f.id: f for f in FACTS_EN + FACTS_PT}
    assert grounding.check(Script.model_validate(SCRIPT_EN), facts) == []
    assert grounding.check(Script.model_validate(SCRIPT_PT), facts) == []
    # accents and case do not matter; 1.500 and 1500 are the same number
    fact = Fact(20, "O exército reuniu cerca de 1.500 soldados em São Paulo.", "s", None, None, 0)
    ok = _one_segment(("Cerca de 1500 soldados do exercito se reuniram em Sao Paulo.", [20]))
    assert grounding.check(ok, {20: fact}) == []


def test_grounding_flags_unsupported_number_and_uncited_claim() -> None:
    facts = {f.id: f for f in FACTS_PT}
    script = _one_segment(
        ("Dom Pedro I proclamou a Independência do Brasil em 7 de setembro de 1821.", [10]),  # wrong year
        ("O Brasil tinha 4 milhões de habitantes.", []),  # number, no citation
        ("A Constituição de 1824 foi a primeira do Brasil independente.", [12]),  # fine
    )
    flags = grounding.check(script, facts)
    assert [(f["segment"], f["sentence"]) for f in flags] == [(0, 0), (0, 1)]
    assert "1821" in flags[0]["problem"] and "none of its cited facts (10)" in flags[0]["problem"]
    assert flags[1]["problem"] == "contains a number but cites no fact"
    assert flags[1]["text"] == "O Brasil tinha 4 milhões de habitantes."


def test_grounding_flags_unknown_id_and_unrelated_citation() -> None:
    facts = {f.id: f for f in FACTS_EN}
    script = _one_segment(
        ("Saturn's rings are made mostly of water ice.", [1]), ("Armstrong walked on the Moon.", [1, 7])
    )
    flags = grounding.check(script, facts)
    problems = [(f["sentence"], f["problem"]) for f in flags]
    assert (0, "shares only 0 of its 6 content words with its cited facts (1)") in problems
    assert (1, "cites fact 7, which is not among the given facts") in problems
    assert len(flags) == 2  # the second sentence's words are supported by fact 1


def test_grounding_flags_a_number_in_the_hook() -> None:
    script = Script.model_validate({**SCRIPT_EN, "hook": "In 1969 everything changed."})
    [flag] = grounding.check(script, {f.id: f for f in FACTS_EN})
    assert (flag["segment"], flag["sentence"]) == (None, None) and "hook" in flag["problem"]
