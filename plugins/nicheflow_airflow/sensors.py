"""CheckpointSensor: the human gate after a reviewed stage. Deferrable: while it waits it holds no worker
slot, only a coroutine in the triggerer (CheckpointTrigger).

approved -> succeeds (XCom: the approved checkpoint id); changes requested -> the stage runs again with
the notes as a new revision and the sensor waits on that; rejected -> the production is marked rejected
and the rest of the run is skipped, artifacts kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from nicheflow_airflow.triggers import CheckpointTrigger


class CheckpointSensor(BaseSensorOperator):
    template_fields = ("checkpoint_id",)

    def __init__(
        self,
        *,
        checkpoint_id: str | int,
        stage: str,
        poll_seconds: float = 15.0,
        stall_after: timedelta = timedelta(hours=48),
        remind_every: timedelta = timedelta(hours=12),
        **kwargs,
    ):
        # Waiting long is not a failure: past `stall_after` the production is marked stalled and keeps
        # waiting; the sensor itself only gives up after a year.
        kwargs.setdefault("timeout", timedelta(days=365))
        super().__init__(**kwargs)
        self.checkpoint_id = checkpoint_id
        self.stage = stage
        self.poll_seconds = poll_seconds
        self.stall_after = stall_after
        self.remind_every = remind_every

    def poke(self, context) -> PokeReturnValue:  # used only if run non-deferred (e.g. dag.test)
        from pipelines import checkpoints
        from pipelines.db import connect

        with connect() as conn:
            done = checkpoints.get(conn, int(self.checkpoint_id)).status != "pending"
        return PokeReturnValue(is_done=done)

    def execute(self, context) -> Any:
        return self._wait(int(self.checkpoint_id))

    def _wait(self, checkpoint_id: int) -> Any:
        from pipelines import checkpoints, logfields
        from pipelines.db import connect

        with connect() as conn:
            cp = checkpoints.get(conn, checkpoint_id)
        status = cp.status
        logfields.bind(channel=cp.channel, production_id=cp.production_id, stage=self.task_id)
        if status != "pending":
            return self._decided(checkpoint_id)
        self.log.info(
            "waiting for a decision on checkpoint %s (%s): `nicheflow pending` lists it",
            checkpoint_id,
            self.stage,
        )
        trigger = CheckpointTrigger(
            checkpoint_id,
            self.poll_seconds,
            self.stall_after.total_seconds(),
            self.remind_every.total_seconds(),
        )
        self.defer(trigger=trigger, method_name="execute_complete", timeout=self.timeout)

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        if event["status"] == "missing":
            raise AirflowFailException(f"checkpoint {event['checkpoint_id']} disappeared from the database")
        return self._decided(int(event["checkpoint_id"]))

    def _decided(self, checkpoint_id: int) -> Any:
        from nicheflow_airflow.tasks import run_stage
        from pipelines.stages.runner import after_decision

        # a requested change re-runs the stage here: the same keys and failure rules as its own task
        outcome, cid = run_stage(self.stage, after_decision, checkpoint_id)
        if outcome == "approved":
            self.log.info("checkpoint %s approved", cid)
            return cid
        if outcome == "rejected":
            raise AirflowSkipException(
                f"checkpoint {cid} ({self.stage}) rejected: production ended, files kept"
            )
        return self._wait(cid)  # a new revision is waiting for review
