"""The one list of stages. The DAG builder, the checkpoint sensor, the review pages, API and forms and
the CLI read it; adding a stage is a module in this package, an entry here and, if it has a checkpoint, a
template `plugins/nicheflow_airflow/templates/stage_<task id>.html`.

Kept free of heavy imports: DAG parsing and the review plugin read it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from pipelines.errors import PermanentError


@dataclass(frozen=True)
class Stage:
    """One task of a channel's DAGs.

    task_id: the task's id and the module `pipelines.stages.<task_id>`.
    dag: the DAG it belongs to.
    checkpoint: a person decides its output (the module then has `produce` and `view`; the DAG adds a
        `review_<task_id>` sensor after it).
    keys: the provider slots whose keys come from Airflow connections before it runs (see
        nicheflow_airflow.credentials).
    edits: what "approve with edits" accepts: the edit kinds of pipelines.review (and the Review page's
        form); empty: the checkpoint takes no edits.
    emits_asset: its result is the channel's long-form Asset event (the Shorts DAG is scheduled on it).
    renders: it encodes video with ffmpeg (its task, and its checkpoint's, which re-renders on a change
        request): it runs in the `render` queue and pool, which bound ffmpeg per machine and in the cluster.
    """

    task_id: str
    title: str
    dag: Literal["longform", "shorts"] = "longform"
    checkpoint: bool = False
    keys: tuple[str, ...] = ()
    edits: tuple[str, ...] = ()
    emits_asset: bool = False
    renders: bool = False

    @property
    def module(self) -> ModuleType:
        """The stage's module, imported when first used (media modules are heavy)."""
        return importlib.import_module(f"{__package__}.{self.task_id}")

    @property
    def template(self) -> str | None:
        """The Review page's part for this stage's checkpoint."""
        return f"stage_{self.task_id}.html" if self.checkpoint else None


STAGES: tuple[Stage, ...] = (
    Stage("start", "Start"),
    Stage("knowledge", "Knowledge and research", keys=("research",)),
    Stage("script", "Script", checkpoint=True, keys=("writer",), edits=("sentences",)),
    Stage("audio", "Audio", checkpoint=True, keys=("tts",)),
    Stage("broll", "B-roll", checkpoint=True, keys=("broll",), edits=("choices",)),
    Stage(
        "final", "Final", checkpoint=True, edits=("title", "description", "tags", "thumbnail"), renders=True
    ),
    Stage("publish", "Publish", keys=("publish",)),
    Stage("learnings", "Learnings", emits_asset=True),
    Stage("shorts", "Shorts", dag="shorts", keys=("publish",), renders=True),
)
BY_ID = {s.task_id: s for s in STAGES}
RENDER = "render"
"""The queue and the pool of the stages that render (Stage.renders): a worker serving the queue with
concurrency N runs at most N renders on its machine; the pool caps them across the cluster."""
CHECKPOINTS: tuple[str, ...] = tuple(s.task_id for s in STAGES if s.checkpoint)
"""The stages a person reviews, in production order."""


class UnknownStage(PermanentError, LookupError):
    """No stage has this task id."""


def get(task_id: str) -> Stage:
    """The stage with this task id; UnknownStage (saying which exist) otherwise."""
    try:
        return BY_ID[task_id]
    except KeyError:
        raise UnknownStage(f"unknown stage {task_id!r}; stages are {', '.join(BY_ID)}") from None


def of_dag(dag: str) -> list[Stage]:
    """The stages of one DAG, in order."""
    return [s for s in STAGES if s.dag == dag]
