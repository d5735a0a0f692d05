"""`make demo`: one unattended long-form production and its Shorts through the real scheduler.

Checkpoints are answered by an explicit auto-approver, recorded as such on every row it decides
(reviewer "demo-auto-approver"); it only decides the checkpoints of the production it started."""

from __future__ import annotations

import logging
import time

from pipelines import checkpoints, production, storage
from pipelines.db import connect
from pipelines.local.stack import AirflowClient, Stack, StackError
from pipelines.providers.publish.outbox import OutboxPublisher

log = logging.getLogger(__name__)
AUTO_APPROVER = "demo-auto-approver"
AUTO_NOTE = "approved automatically by `make demo`: no human reviewed this"


def production_of(channel: str, run_id: str) -> dict | None:
    """The production of a run; its `workspace` is where its files are stored (a folder or s3://…)."""
    with connect() as conn:
        row = conn.execute(
            "SELECT id, topic, status, workspace FROM productions WHERE channel = %s AND dag_run_id = %s",
            (channel, run_id),
        ).fetchone()
    if row is None:
        return None
    key, old = production.locate(channel, row["workspace"])
    return {**row, "workspace": str(old) if old else storage.get().where(key)}


def approve_pending(production_id: int) -> list[int]:
    decided = []
    with connect() as conn:
        for cp in checkpoints.pending(conn):
            if cp.production_id == production_id:
                checkpoints.decide(conn, cp.id, "approved", AUTO_APPROVER, AUTO_NOTE)
                log.info("auto-approved checkpoint %s (%s r%s)", cp.id, cp.stage, cp.revision)
                decided.append(cp.id)
    return decided


def wait_run(
    client: AirflowClient, stack: Stack, dag_id: str, run_id: str, timeout: float, on_tick=None
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        if on_tick:
            on_tick()
        state = client.run_state(dag_id, run_id)
        if state in ("success", "failed"):
            return state
        time.sleep(2)
    raise StackError(
        f"{dag_id} run {run_id} did not finish within {timeout:.0f} s: {client.task_states(dag_id, run_id)}"
    )


def run_production(
    stack: Stack, channel: str, topic: str | None, seconds: int | None, timeout: float = 1800
) -> dict:
    """Trigger one long-form run, auto-approve its checkpoints, wait for it and for its Shorts run."""
    client = AirflowClient(stack.url, "admin", stack.passwords()["admin"])
    longform, shorts = f"longform_{channel}", f"shorts_{channel}"
    client.wait_for_dag(longform)
    client.wait_for_dag(shorts)
    shorts_before = {r["dag_run_id"] for r in client.runs(shorts)}
    run_id = client.trigger(longform, {"topic": topic or "", "target_seconds": seconds})
    log.info("triggered %s run %s", longform, run_id)

    def tick():
        prod = production_of(channel, run_id)
        if prod:
            approve_pending(prod["id"])

    state = wait_run(client, stack, longform, run_id, timeout, tick)
    if state != "success":
        raise StackError(
            f"{longform} run {run_id} ended {state}: {client.task_states(longform, run_id)}; "
            f"logs in {stack.home / 'logs'}"
        )
    prod = production_of(channel, run_id)
    deadline = time.monotonic() + 300
    while True:
        new = [r for r in client.runs(shorts) if r["dag_run_id"] not in shorts_before]
        if new:
            break
        if time.monotonic() > deadline:
            raise StackError(f"{shorts} was not triggered by the long-form's asset event within 300 s")
        time.sleep(2)
    shorts_state = wait_run(client, stack, shorts, new[0]["dag_run_id"], timeout)
    if shorts_state != "success":
        raise StackError(
            f"{shorts} run {new[0]['dag_run_id']} ended {shorts_state}: "
            f"{client.task_states(shorts, new[0]['dag_run_id'])}"
        )
    return {"run_id": run_id, "shorts_run_id": new[0]["dag_run_id"], "production": prod}


def report(channel: str, production: dict) -> str:
    pid = production["id"]
    lines = [
        f"Production {pid} ({channel}): {production['topic']!r}",
        f"  workspace: {production['workspace']}",
    ]
    outbox = OutboxPublisher(channel)
    for name, _, receipt in outbox.items():
        if name.startswith(f"{pid:05d}-"):
            lines.append(f"  outbox:    {outbox.store.where(f'{outbox.prefix}/{name}')}")
            files = [*(receipt or {}).get("files", {}), "metadata.json"] + (
                ["receipt.json"] if receipt else []
            )
            lines += [f"             {f}" for f in sorted(files)]
    return "\n".join(lines)
