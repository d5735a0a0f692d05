"""A decision resumes its production at once: the checkpoint trigger LISTENs for the NOTIFY every decision
sends when it commits, instead of waiting for its next poll. The poll stays as the fallback, so a decision
whose notification never came (written by hand, or lost with a connection) still resumes it."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest

from pipelines import review
from pipelines.checkpoints import NOTIFY_CHANNEL
from pipelines.db import connect
from pipelines.paths import REPO
from pipelines.stages import runner, start

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; pytest does not


@pytest.fixture
def checkpoint(database, data_dir, configs) -> int:
    pid = start.run("science_en", "The Voyager probes", "manual__notify", target_seconds=30)
    runner.run("knowledge", pid)
    return runner.run_stage("script", pid)


def wait_for_event(trigger, decide, timeout: float = 120) -> tuple[dict, float]:
    """Run the trigger until it fires while `decide` runs in a thread once the trigger is listening; returns
    the event's payload and the seconds from the decision's commit to the event."""
    decided: list[float] = []

    def later():
        time.sleep(1.0)  # the trigger has connected, listened and read the row by now
        try:
            decide()
        finally:
            decided.append(time.monotonic())

    async def run():
        gen = trigger.run()
        try:
            return await asyncio.wait_for(gen.__anext__(), timeout=timeout)
        finally:
            await gen.aclose()

    thread = threading.Thread(target=later)
    thread.start()
    event = asyncio.run(run())
    fired = time.monotonic()
    thread.join()
    return event.payload, fired - decided[0]


def test_a_decision_wakes_its_waiting_trigger_at_once(checkpoint):
    from nicheflow_airflow.triggers import CheckpointTrigger

    def decide():
        with connect() as conn:  # a notification for another checkpoint is not this one's decision
            conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(checkpoint + 1000)))
        time.sleep(0.5)
        with connect() as conn:
            review.decide(conn, checkpoint, "approved", "ana")

    # polling alone would look again only after 300 s
    payload, after = wait_for_event(CheckpointTrigger(checkpoint, poll_seconds=300), decide)
    assert payload == {"checkpoint_id": checkpoint, "status": "approved"}
    assert after < 60


def test_a_decision_whose_notification_never_came_is_found_by_the_poll(checkpoint):
    from nicheflow_airflow.triggers import CheckpointTrigger

    def decide_by_hand():  # no NOTIFY: as if it had been lost
        with connect() as conn:
            conn.execute(
                "UPDATE nicheflow.checkpoints SET status = 'rejected', notes = 'by hand', reviewer = 'dba', "
                "decided_at = now() WHERE id = %s",
                (checkpoint,),
            )

    payload, _ = wait_for_event(CheckpointTrigger(checkpoint, poll_seconds=0.5), decide_by_hand)
    assert payload == {"checkpoint_id": checkpoint, "status": "rejected"}


def test_polling_only_still_resumes(checkpoint):
    from nicheflow_airflow.triggers import CheckpointTrigger

    def decide():
        with connect() as conn:
            review.decide(conn, checkpoint, "approved", "ana")

    trigger = CheckpointTrigger(checkpoint, poll_seconds=0.5, listen=False)
    payload, _ = wait_for_event(trigger, decide)
    assert payload == {"checkpoint_id": checkpoint, "status": "approved"}
