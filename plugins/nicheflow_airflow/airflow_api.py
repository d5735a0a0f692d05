"""The calls nicheflow's plugin makes to Airflow's own REST API (/api/v2), as the signed-in user: clearing a
task so its run goes on (the needs-attention retry, a reopened checkpoint), and waiting until the tasks a
clear interrupted have stopped."""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


class AirflowApiError(RuntimeError):
    """Airflow refused or could not be reached; `status` is its HTTP status (0: not reached)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


def api_base() -> str:
    """The api-server's base URL, from [api] base_url (else 127.0.0.1 and [api] port)."""
    from airflow.configuration import conf

    return (
        conf.get("api", "base_url", fallback="")
        or f"http://127.0.0.1:{conf.get('api', 'port', fallback='8080')}"
    ).rstrip("/")


def clear_task(
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    *,
    token: str | None,
    base_url: str | None = None,
    include_downstream: bool = True,
    attempts: int = 3,
) -> list[str]:
    """Clear `task_id` (and, by default, what follows it) in the run, so the scheduler runs it again and the
    failed run goes back to running. Returns the task ids cleared. `token`: the caller's bearer token (the
    Review page passes the signed-in user's, so Airflow checks their rights). AirflowApiError otherwise."""
    import httpx

    body = {
        "dag_run_id": dag_run_id,
        "task_ids": [task_id],
        "include_downstream": include_downstream,
        "only_failed": False,
        "reset_dag_runs": True,
        "dry_run": False,
    }
    url = f"{(base_url or api_base()).rstrip('/')}/api/v2/dags/{dag_id}/clearTaskInstances"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for attempt in range(1, attempts + 1):
        try:
            resp = httpx.post(url, json=body, headers=headers, timeout=30)
        except httpx.TransportError as e:
            if attempt == attempts:
                raise AirflowApiError(f"Airflow's API is unreachable ({type(e).__name__}: {e})") from None
            time.sleep(2)
            continue
        if resp.status_code < 400:
            return sorted({t["task_id"] for t in resp.json().get("task_instances", [])})
        if resp.status_code in (401, 403, 404, 422) or attempt == attempts:
            raise AirflowApiError(
                f"clearing {task_id} of {dag_id} run {dag_run_id}: Airflow answered {resp.status_code} "
                f"{resp.text[:300]}",
                resp.status_code,
            )
        log.warning("clearing %s answered %s; trying again", task_id, resp.status_code)  # a busy scheduler
        time.sleep(2)
    raise AirflowApiError("not reached")  # the loop always returns or raises


def wait_stopped(
    dag_id: str,
    dag_run_id: str,
    *,
    token: str | None,
    base_url: str | None = None,
    timeout: float = 60,
    every: float = 1,
) -> list[str]:
    """Wait until no task of the run is still being stopped ("restarting": cleared while it ran, and not yet
    stopped by its worker). A run with such a task and nothing else to run is one Airflow calls deadlocked
    and marks failed, so a decision that lets the run go on must not come before they have stopped. Returns
    the task ids still stopping when `timeout` ran out ([]: none). AirflowApiError when Airflow refuses."""
    import httpx

    url = f"{(base_url or api_base()).rstrip('/')}/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + timeout
    stopping: list[str] = []
    while True:
        try:
            resp = httpx.get(url, params={"state": "restarting"}, headers=headers, timeout=30)
        except httpx.TransportError as e:
            raise AirflowApiError(f"Airflow's API is unreachable ({type(e).__name__}: {e})") from None
        if resp.status_code >= 400:
            raise AirflowApiError(
                f"listing the tasks of {dag_id} run {dag_run_id}: Airflow answered {resp.status_code} "
                f"{resp.text[:300]}",
                resp.status_code,
            )
        stopping = sorted({t["task_id"] for t in resp.json().get("task_instances", [])})
        if not stopping or time.monotonic() >= deadline:
            return stopping
        time.sleep(every)
