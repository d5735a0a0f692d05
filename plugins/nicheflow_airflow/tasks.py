"""How a task runs a stage, in one place for the DAG's tasks and the checkpoint sensor: the stage's
provider keys come from Airflow connections first, and an error that retrying cannot help (a rejected
key, a repeated topic, a channel that knows nothing about the topic, a bad config) fails the task at once
with its message; anything else is raised as it is, so Airflow retries it with backoff. The external calls the
stage timed are written when it returns (pipelines.latency)."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any, TypeVar

from airflow.providers.standard.operators.python import PythonOperator

T = TypeVar("T")


def run_stage(task_id: str, fn: Callable[..., T], *args: Any, channel: str | None = None, **kwargs: Any) -> T:
    """Call `fn` (the stage's work) as the task `task_id` of the stage registry, for `channel` (whose
    publish connections it needs)."""
    from airflow.sdk.exceptions import AirflowFailException

    from nicheflow_airflow.credentials import export_credentials, export_storage_connection
    from pipelines.errors import DiskFull, disk_full, is_permanent
    from pipelines.stages import registry

    stage = registry.get(task_id)
    export_storage_connection()  # a bucket's endpoint and keys (nothing to do for the data folder)
    if stage.keys:
        export_credentials(stage.keys, channel)
    try:
        return fn(*args, **kwargs)
    except Exception as e:
        if isinstance(e, OSError) and e.errno == errno.ENOSPC and not isinstance(e, DiskFull):
            from pipelines.paths import data_dir  # when the error names no file: the data folder's disk

            raise disk_full(e.filename or data_dir() / "a file") from e  # which disk, and that it is retried
        if is_permanent(e):
            raise AirflowFailException(f"{e} [not retried: retrying cannot help]") from e
        raise
    finally:
        from pipelines import latency

        latency.flush()  # the external calls the stage timed, in one INSERT (pipelines.latency)


class StageTask(PythonOperator):
    """A stage's task that can wait without holding a worker slot: when the stage raises
    pipelines.errors.WaitUntil (YouTube's quota is spent until midnight Pacific), the task is deferred to
    the triggerer until then, and the stage runs again (it continues where it stopped)."""

    def execute(self, context: Any) -> Any:
        from nicheflow_airflow.triggers import UntilTrigger
        from pipelines.errors import WaitUntil

        try:
            return super().execute(context)
        except WaitUntil as wait:
            self.log.warning("%s", wait)
            self.defer(trigger=UntilTrigger(wait.until.isoformat()), method_name="resume")

    def resume(self, context: Any, event: Any = None) -> Any:
        """The time has come: run the stage again."""
        return self.execute(context)
