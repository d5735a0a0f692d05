"""End to end on the real Airflow stack: how a task fails. The real provider client libraries (the `groq`
SDK, httpx for Brave Search, the Azure Speech SDK) talk to local fakes of the services, which each test
switches to the answer it needs. An error retrying cannot help (a rejected key, a topic the channel knows
nothing about) fails its task on the first try, with its message in the task log; a 5xx is retried.

The channels: science_en writes with Groq and researches with the web search; historia_ptbr speaks with
Azure and researches with the web search. The fakes run in this process and are set in the environment
before the stack starts, so every Airflow process and task inherits their addresses and keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from pipelines import checkpoints
from pipelines.db import connect
from pipelines.local.cli import main as cli
from pipelines.local.demo import production_of, wait_run
from pipelines.stages import registry
from tests.e2e.test_review_browser import browser, login  # noqa: F401  (the browser fixture)
from tests.helpers import wait_for
from tests.helpers.fake_azure_speech import FakeAzureSpeech
from tests.helpers.fake_groq import FakeGroq
from tests.helpers.fake_research_servers import FakeBraveSearch, status

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

GROQ_KEY = "gsk_e2e_groq_key_0123456789"
BRAVE_KEY = "brave-e2e-key-0123456789"
AZURE_KEY = "azure-e2e-stale-key-0123456789"  # the fake Azure accepts another key: every handshake is a 401
NOT_RETRIED = "[not retried: retrying cannot help]"  # what run_stage adds to a permanent error's message
RUN_TIMEOUT = 900  # generous: the machine may be busy; a wait is not an assertion about speed


@dataclass
class Fakes:
    groq: FakeGroq
    brave: FakeBraveSearch
    azure: FakeAzureSpeech


@pytest.fixture(scope="module")
def fakes():
    """The fake Groq, Brave Search and Azure Speech, and the environment variables that point the
    providers at them (set before the stack starts, undone at the end)."""
    mp = pytest.MonkeyPatch()
    azure = FakeAzureSpeech(key="the-key-azure-accepts")
    try:
        with FakeGroq() as groq, FakeBraveSearch(valid_key=BRAVE_KEY) as brave:
            mp.setenv("GROQ_API_KEY", GROQ_KEY)
            mp.setenv("GROQ_BASE_URL", groq.url)
            mp.setenv("BRAVE_SEARCH_API_KEY", BRAVE_KEY)
            mp.setenv("BRAVE_SEARCH_BASE_URL", brave.url)
            mp.setenv("AZURE_SPEECH_KEY", AZURE_KEY)
            mp.setenv("AZURE_SPEECH_ENDPOINT", azure.endpoint)
            mp.delenv("AZURE_SPEECH_REGION", raising=False)
            yield Fakes(groq, brave, azure)
    finally:
        mp.undo()
        azure.close()


@pytest.fixture(scope="module")
def stack_channel_edits(fakes) -> dict[str, dict]:
    return {
        "science_en": {"llm.provider": "groq", "research.providers": ["local", "websearch"]},
        "historia_ptbr": {
            "voice.provider": "azure",
            "voice.name": "pt-BR-FranciscaNeural",
            "research.providers": ["local", "websearch"],
        },
    }


@pytest.fixture(scope="module")
def stack(airflow_stack):
    return airflow_stack


@pytest.fixture(autouse=True)
def fresh_fakes(fakes):
    """Each test scripts the fakes it needs and counts their requests from zero; nothing it queued is left
    for the next one."""
    fakes.groq.requests.clear()
    fakes.brave.requests.clear()
    yield
    fakes.groq.replies.clear()
    with fakes.brave._lock:
        fakes.brave._failures.clear()


def trigger(stack, channel: str, topic: str) -> tuple[str, str]:
    """A long-form run of `channel` on `topic`: (dag id, run id)."""
    client = stack.client
    dag_id = f"longform_{channel}"
    client.wait_for_dag(dag_id)
    # a DAG pauses itself after 3 failed runs in a row (max_consecutive_failed_dag_runs), and these all fail
    client.set_paused(dag_id, False)
    return dag_id, client.trigger(dag_id, {"topic": topic, "target_seconds": 30})


def run_to_failure(stack, channel: str, topic: str, on_tick: Callable[[str], None] | None = None):
    """Trigger a run and wait until it ends, failed; `on_tick(run_id)` is called while it runs."""
    client = stack.client
    dag_id, run_id = trigger(stack, channel, topic)
    try:
        tick = (lambda: on_tick(run_id)) if on_tick else None
        state = wait_run(client, stack, dag_id, run_id, RUN_TIMEOUT, tick)
    except Exception:
        client.set_run_state(dag_id, run_id, "failed")  # don't hold up the next test (one run at a time)
        raise
    assert state == "failed", client.task_states(dag_id, run_id)
    return dag_id, run_id


def longform_tasks() -> list[str]:
    """The long-form DAG's task ids in run order: each stage, then its checkpoint's sensor."""
    return [
        t
        for s in registry.of_dag("longform")
        for t in (s.task_id, *((f"review_{s.task_id}",) if s.checkpoint else ()))
    ]


def failed_at_once(stack, dag_id: str, run_id: str, task_id: str) -> str:
    """Assert `task_id` failed on its first try, without retries, and the tasks before it succeeded;
    return its log."""
    client = stack.client
    ti = client.task_instance(dag_id, run_id, task_id)
    assert (ti["state"], ti["try_number"]) == ("failed", 1), ti
    states = client.task_states(dag_id, run_id)
    order = longform_tasks()
    before = order[: order.index(task_id)]
    assert before and all(states[t] == "success" for t in before), states
    assert all(states[t] == "upstream_failed" for t in order[order.index(task_id) + 1 :]), states
    log = client.task_log(dag_id, run_id, task_id, 1)
    assert NOT_RETRIED in log, log[-3000:]
    return log


def test_a_rejected_groq_key_fails_the_script_at_once(stack, fakes):
    fakes.groq.add_error(401, "Invalid API Key", code="invalid_api_key")
    dag_id, run_id = run_to_failure(stack, "science_en", "The Hubble Space Telescope")
    log = failed_at_once(stack, dag_id, run_id, "script")
    assert "Groq rejected the API key" in log and "HTTP 401" in log, log[-3000:]
    assert "groq_default" in log and "GROQ_API_KEY" in log  # says where to set a valid key
    assert GROQ_KEY not in log
    assert len(fakes.groq.requests) == 1  # the SDK does not retry a 401, nor does Airflow


def test_a_rejected_brave_key_fails_the_knowledge_at_once(stack, fakes):
    fakes.brave.fail(status(401))
    topic = "Tardigrade cryptobiosis"  # no local document on it: the knowledge stage asks the web search
    dag_id, run_id = run_to_failure(stack, "science_en", topic)
    log = failed_at_once(stack, dag_id, run_id, "knowledge")
    assert "the web search key was rejected" in log and "HTTP 401" in log, log[-3000:]
    assert "websearch_default" in log and "BRAVE_SEARCH_API_KEY" in log
    assert BRAVE_KEY not in log
    asked = [r for r in fakes.brave.requests if r.query.get("q") == topic]
    assert [r.status for r in asked] == [401]  # asked once, not retried


def test_a_rejected_azure_key_fails_the_audio_at_once(stack, fakes):
    def approve_the_script(run_id: str) -> None:
        prod = production_of("historia_ptbr", run_id)
        if not prod:
            return
        with connect() as conn:
            waiting = [c for c in checkpoints.pending(conn) if c.production_id == prod["id"]]
        for cp in waiting:
            assert cp.stage == "script", cp  # the run never gets to another checkpoint
            assert cli(["approve", str(cp.id), "--as", "e2e"]) == 0

    dag_id, run_id = run_to_failure(stack, "historia_ptbr", "A Proclamação da República", approve_the_script)
    log = failed_at_once(stack, dag_id, run_id, "audio")
    assert "Azure Speech refused the key" in log, log[-3000:]
    assert "azure_speech_default" in log and "AZURE_SPEECH_KEY" in log
    assert f"the endpoint {fakes.azure.endpoint} (AZURE_SPEECH_ENDPOINT)" in log  # the region is not used
    assert AZURE_KEY not in log
    assert fakes.azure.ssml == []  # refused at the handshake: nothing was spoken, no offline voice stood in


def test_a_topic_the_channel_knows_nothing_about_fails_the_script_at_once(stack, fakes):
    topic = "Pinguins da Antártida"  # no local document, and the web search finds nothing either
    dag_id, run_id = run_to_failure(stack, "historia_ptbr", topic)
    log = failed_at_once(stack, dag_id, run_id, "script")
    assert f"channel historia_ptbr knows nothing about {topic!r}" in log, log[-3000:]
    assert "add a source document to knowledge/sources/historia_ptbr or choose another topic" in log
    asked = [r for r in fakes.brave.requests if r.query.get("q") == topic]
    assert [r.status for r in asked] == [200]  # research was asked, and found nothing


def test_a_groq_5xx_is_retried(stack, fakes):
    for _ in range(60):  # every call answers 503, asking the SDK to wait 50 ms before its next retry
        fakes.groq.add_error(
            503, "Service Unavailable", type="internal_server_error", headers={"retry-after-ms": "50"}
        )
    client = stack.client
    dag_id, run_id = trigger(stack, "science_en", "The rovers that explored Mars")

    def script_try(n: int):
        def reached():
            ti = client.task_instance(dag_id, run_id, "script")
            assert ti["state"] not in ("failed", "success"), ti  # neither failed at once nor written
            return ti["try_number"] > n or (ti["try_number"] == n and ti["state"] == "up_for_retry")

        return reached

    try:
        wait_for("the script task's first try to end up for retry", script_try(1), timeout=RUN_TIMEOUT)
        first = client.task_log(dag_id, run_id, "script", 1)
        assert "Groq API error HTTP 503: Service Unavailable" in first and "Try again later" in first
        assert NOT_RETRIED not in first
        assert first.count("Retrying request to /openai/v1/chat/completions") == 4  # the SDK's own retries
        # after retry_delay (20 s) Airflow runs the task again, and its second try meets the 503s too
        wait_for("the script task's second try to end up for retry", script_try(2), timeout=RUN_TIMEOUT)
        assert "Groq API error HTTP 503" in client.task_log(dag_id, run_id, "script", 2)
        assert len(fakes.groq.requests) >= 10 and client.run_state(dag_id, run_id) == "running"
    finally:
        client.set_run_state(dag_id, run_id, "failed")  # end it here rather than after the last retry
    assert wait_run(client, stack, dag_id, run_id, RUN_TIMEOUT) == "failed"


def test_a_failed_stage_needs_attention_and_is_retried_from_the_page(stack, fakes, browser):  # noqa: F811
    """Groq rejects the key: the script fails at once and its production is listed as needing attention,
    with what to do. The key is fixed (the fake answers again), an editor retries the stage from the page:
    Airflow runs the script task again, the run goes on to the script checkpoint, the mark is closed."""
    from pipelines import attention, production
    from pipelines.paths import REPO
    from pipelines.stages.script import writer_facts
    from tests.pipelines.stages.test_script import groq_script

    fakes.groq.add_error(401, "Invalid API Key", code="invalid_api_key")
    dag_id, run_id = run_to_failure(stack, "science_en", "The Hubble Space Telescope")
    pid = production_of("science_en", run_id)["id"]
    mark = wait_for(
        "the needs-attention mark",
        lambda: next((a for a in _open_marks() if a.dag_run_id == run_id), None),
        timeout=120,
    )
    assert (mark.task_id, mark.category, mark.production_id) == ("script", "permanent", pid)
    assert "Groq rejected the API key" in mark.error and "groq_default" in mark.error
    assert mark.advice.startswith("Retrying cannot help until the cause is fixed")

    page = login(browser, stack, "reviewer")
    page.goto(f"{stack.url}/review/attention")
    row = page.locator(f'tr[data-attention="{mark.id}"]')
    assert "Groq rejected the API key" in row.inner_text()
    page.screenshot(path=str(REPO / "test-artifacts" / "review" / "needs-attention.png"), full_page=True)

    # the operator fixes the key; Groq now writes the script (from the facts the stage will give it)
    with connect() as conn:
        p = production.load(conn, pid)
        script, words = groq_script(writer_facts(conn, p)[1])
        # a target its length meets (the writer checks it within 10 %)
        seconds = max(20, round(words * 60 / p.cfg.voice.rate_wpm))
        conn.execute("UPDATE productions SET target_seconds = %s WHERE id = %s", (seconds, pid))
    fakes.groq.add_completion(json.dumps(script))
    stack.client.set_paused(dag_id, False)
    row.get_by_role("button", name="Retry the stage").click()
    page.wait_for_load_state("networkidle")
    assert "Retrying: " in page.locator("[role=status]").inner_text()
    # Airflow ran the script again (try 2) and the run waits at its checkpoint
    waiting = wait_for(
        "the script checkpoint after the retry",
        lambda: next((c for c in _pending() if c.production_id == pid and c.stage == "script"), None),
        timeout=RUN_TIMEOUT,
    )
    ti = stack.client.task_instance(dag_id, run_id, "script")
    assert (ti["state"], ti["try_number"]) == ("success", 2)
    with connect() as conn:
        assert attention.get(conn, mark.id).cleared_because == "succeeded"
    page.goto(f"{stack.url}/review/attention")
    assert page.locator(f'tr[data-attention="{mark.id}"]').count() == 0
    with connect() as conn:  # end the run: reject its checkpoint
        checkpoints.decide(conn, waiting.id, "rejected", "e2e", "test over")
    assert wait_run(stack.client, stack, dag_id, run_id, RUN_TIMEOUT) in ("success", "failed")


def _open_marks():
    from pipelines import attention

    with connect() as conn:
        return attention.listing(conn)


def _pending():
    with connect() as conn:
        return checkpoints.pending(conn)
