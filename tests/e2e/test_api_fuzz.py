"""The Review API fuzzed with schemathesis on the real stack: every operation of `/review/openapi.json`, as
served by the real api-server, gets generated requests (valid ones and invalid ones) from a user who may
decide, authenticated with a real Airflow token. Ids that exist are seeded first (a production waiting at
its script checkpoint, one waiting at its final checkpoint with three approved ones, a needs-attention
mark), so the fuzzer reaches the code behind the 404s too.

What must hold afterwards: no request was answered with a server error, and every answer is one the schema
documents (status code, content type, body and headers); valid requests are not refused except where the
schema says the refusal depends on the checkpoint's content (edits); invalid ones are refused; a request
without the token is refused. Deterministic: derandomized, no example database; bounded: a fixed number of
examples per operation and mode, no deadline, no shrinking."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx
import pytest
import requests

from pipelines import attention
from pipelines.db import connect
from pipelines.stages import runner, start

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

USER = "reviewer"  # Airflow role "user": may read and decide every channel, may not reopen
EXAMPLES = 40  # per operation, per mode (valid / invalid), per id source (generated / seeded)
BUDGET_S = 240  # the whole fuzz run, on two busy cores; a run past it fails rather than stretching the suite


@pytest.fixture(scope="module")
def seeded(airflow_stack) -> dict[str, list[int]]:
    """Ids that exist, by path parameter name: productions, checkpoints (pending and decided), a mark."""
    from tests.pipelines.test_artifacts import FINAL_ROW
    from tests.pipelines.test_review import final_checkpoint_with

    script_pid = start.run("science_en", "The Voyager probes", "manual__fuzz", target_seconds=30)
    runner.run("knowledge", script_pid)
    script_cp = runner.run_stage("script", script_pid)
    final_cp = final_checkpoint_with(FINAL_ROW)
    with connect() as conn:
        final_pid = conn.execute(
            "SELECT production_id FROM checkpoints WHERE id = %s", (final_cp,)
        ).fetchone()["production_id"]
        decided = [
            r["id"]
            for r in conn.execute(
                "SELECT id FROM checkpoints WHERE production_id = %s AND status <> 'pending'", (final_pid,)
            ).fetchall()
        ]
        mark, _ = attention.mark_failed(
            conn,
            channel="science_en",
            dag_id="longform_science_en",
            dag_run_id="manual__fuzz",
            task_id="audio",
            exc=RuntimeError("the TTS engine crashed"),
            tries=3,
            production_id=script_pid,
        )
    return {
        "checkpoint_id": [script_cp, final_cp, *decided],
        "production_id": [script_pid, final_pid],
        "attention_id": [mark.id],
    }


@pytest.fixture(scope="module")
def token(airflow_stack) -> str:
    password = airflow_stack.passwords()[USER]
    r = httpx.post(
        f"{airflow_stack.url}/auth/token", json={"username": USER, "password": password}, timeout=60
    )
    return r.raise_for_status().json()["access_token"]


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        ignored_auth,
        negative_data_rejection,
        positive_data_acceptance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    def valid_data_accepted(ctx, response, case):
        """positive_data_acceptance, except the documented 400 of a decision whose edits do not fit the
        checkpoint (which sentence, segment or thumbnail exists is the checkpoint's content, not the schema's)."""
        body = case.body if isinstance(case.body, dict) else {}
        if case.operation.path.endswith("/decision") and response.status_code == 400 and body.get("edits"):
            return None
        return positive_data_acceptance(ctx, response, case)

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        response_headers_conformance,
        negative_data_rejection,
        valid_data_accepted,
        ignored_auth,
    ]


def _report(group: BaseExceptionGroup) -> str:
    """schemathesis' report of a group of failures (what failed, the response, a curl line to reproduce), or
    Hypothesis' of a flaky one with the failures it saw."""
    inner = "\n".join(f"  {type(e).__name__}: {str(e)[:1500]}" for e in group.exceptions)
    return f"{getattr(group, 'message', '') or group}\n{inner}"[:5000]


def _fuzz(strategy, send) -> str | None:
    """Run `send` on up to EXAMPLES cases of `strategy`; the first failure's report, or None."""
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case):
        send(case)

    try:
        fuzz()
    except (Exception, BaseExceptionGroup) as e:  # one operation's failure must not hide the others'
        return str(e)[:3000] if not isinstance(e, BaseExceptionGroup) else _report(e)
    return None


def test_the_review_api_survives_fuzzing_and_tells_the_truth(airflow_stack, seeded, token):
    import schemathesis
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    base = f"{airflow_stack.url}/review"
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", timeout=60)

    @schema.auth()
    class AirflowToken:  # schemathesis knows the token is the caller's: it leaves it out to test refusals
        def get(self, case, context):
            return token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    checks = _checks()
    session = requests.Session()
    cases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: dict[str, str] = {}
    started = time.monotonic()

    def send(label: str, case) -> None:
        assert time.monotonic() - started < BUDGET_S, f"the fuzz run took over {BUDGET_S} s"
        response = case.call(base_url=base, session=session, timeout=60)
        cases[label] += 1
        statuses[response.status_code] += 1
        case.validate_response(response, checks=checks)

    for result in schema.get_all_operations():
        op = result.ok()
        ids = {p.name: seeded[p.name] for p in op.path_parameters if p.name in seeded}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            sources = [op.as_strategy(mode)]
            if ids:  # the same, with ids that exist (each id parameter drawn from the seeded ones)
                sources.append(
                    st.fixed_dictionaries({k: st.sampled_from(v) for k, v in ids.items()}).flatmap(
                        lambda fixed, op=op, mode=mode: op.as_strategy(mode, path_parameters=fixed)
                    )
                )
            for n, strategy in enumerate(sources):
                label = f"{op.label} [{mode.value}{', seeded ids' if n else ''}]"
                t0 = time.monotonic()
                if error := _fuzz(strategy, lambda case, label=label: send(label, case)):
                    failures[label] = error
                print(f"{label}: {cases[label]} cases, {time.monotonic() - t0:.1f} s")

    total = sum(cases.values())
    print(
        f"\nschemathesis: {total} cases on {len(cases)} operation/mode runs in {time.monotonic() - started:.0f} s"
    )
    print("answers:", dict(sorted(statuses.items())))
    assert not failures, "\n\n".join(f"{label}:\n{msg}" for label, msg in failures.items())
    assert not [s for s in statuses if s >= 500], statuses  # no server error, also one a check let through
    assert total >= 400, f"only {total} cases ran: the fuzzer did not reach the operations"
    assert statuses[200] > 0 and statuses[404] > 0  # both real ids and unknown ones were reached
    with connect() as conn:  # every decision the fuzzer got through was recorded once, by the caller
        rows = conn.execute(
            """SELECT c.id, c.status, c.reviewer, count(e.checkpoint_id) AS events FROM checkpoints c
               LEFT JOIN checkpoint_events e ON e.checkpoint_id = c.id GROUP BY c.id ORDER BY c.id"""
        ).fetchall()
    assert all(r["events"] == (r["status"] != "pending") for r in rows), rows
    assert {r["id"] for r in rows if r["reviewer"] == USER} & set(seeded["checkpoint_id"]), rows
