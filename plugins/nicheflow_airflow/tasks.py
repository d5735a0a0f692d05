"""How a task runs a stage, in one place for the DAG's tasks and the checkpoint sensor: the stage's
provider keys come from Airflow connections first, and an error that retrying cannot help (a rejected
key, a repeated topic, a channel that knows nothing about the topic, a bad config) fails the task at once
with its message; anything else is raised as it is, so Airflow retries it with backoff."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_stage(task_id: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call `fn` (the stage's work) as the task `task_id` of the stage registry."""
    from airflow.sdk.exceptions import AirflowFailException

    from nicheflow_airflow.credentials import export_credentials
    from pipelines.errors import is_permanent
    from pipelines.stages import registry

    stage = registry.get(task_id)
    if stage.keys:
        export_credentials(stage.keys)
    try:
        return fn(*args, **kwargs)
    except Exception as e:
        if is_permanent(e):
            raise AirflowFailException(f"{e} [not retried: retrying cannot help]") from e
        raise
