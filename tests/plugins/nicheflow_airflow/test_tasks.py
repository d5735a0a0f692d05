"""A stage that must wait (YouTube's quota is spent until midnight Pacific) defers its task to the triggerer,
which fires when the project's clock reaches the time: no worker slot is held, and a shifted clock is
followed (that is how the end-to-end test reaches midnight without waiting for it)."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

import pytest

from pipelines import clock
from pipelines.errors import WaitUntil
from pipelines.paths import REPO

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; pytest does not


def test_a_wait_defers_the_task_until_then():
    from airflow.sdk.exceptions import TaskDeferred
    from nicheflow_airflow.tasks import StageTask
    from nicheflow_airflow.triggers import UntilTrigger

    until = clock.now() + timedelta(hours=3)

    def stage():
        raise WaitUntil("project main's YouTube quota for today is spent", until)

    task = StageTask(task_id="publish", python_callable=stage)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute({})
    assert deferred.value.method_name == "resume"
    assert isinstance(deferred.value.trigger, UntilTrigger)
    assert deferred.value.trigger.serialize() == (
        "nicheflow_airflow.triggers.UntilTrigger",
        {"until": until.isoformat(), "check_seconds": 10.0},
    )


def test_the_trigger_fires_when_the_clock_reaches_the_time(tmp_path, monkeypatch):
    from nicheflow_airflow.triggers import UntilTrigger

    shift = tmp_path / "shift"
    monkeypatch.setenv("NICHEFLOW_CLOCK_SHIFT_FILE", str(shift))
    until = clock.now() + timedelta(hours=1)

    async def scenario():
        waiting = asyncio.ensure_future(UntilTrigger(until.isoformat(), check_seconds=0.05).run().__anext__())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # an hour to go
        shift.write_text(str(3601))  # the clock jumps past the time
        event = await asyncio.wait_for(waiting, timeout=10)
        return event.payload

    assert asyncio.run(scenario()) == {"until": until.isoformat()}
