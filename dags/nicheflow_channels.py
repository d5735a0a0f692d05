"""One long-form DAG and one Shorts DAG per channel YAML in niche_configs/.

Thin on purpose: the tasks are the stage registry's (pipelines/stages/registry.py), each calling its stage
through nicheflow_airflow.tasks; nothing heavy is imported at parse time. A broken YAML is
skipped here (other channels keep loading) and reported by dags/nicheflow_config_errors.py as an import
error in the UI; NICHEFLOW_STRICT_CONFIG=1 turns it into an error here too."""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from airflow.sdk import DAG, Asset, CronTriggerTimetable, Param, get_parsing_context, task
from nicheflow_airflow.notifiers import task_failed, task_succeeded
from nicheflow_airflow.sensors import CheckpointSensor
from nicheflow_airflow.tasks import StageTask

from pipelines import metadata
from pipelines.config import ChannelConfig, load_all
from pipelines.stages import registry
from pipelines.stages.registry import Stage

log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=2),
    # after the last retry: needs attention + the alert (nicheflow_airflow.notifiers); a success clears it
    "on_failure_callback": task_failed,
    "on_success_callback": task_succeeded,
}


def placement(stage: Stage) -> dict:
    """Where a stage's task runs: a rendering stage in the render queue and pool (registry.RENDER)."""
    return {"queue": registry.RENDER, "pool": registry.RENDER} if stage.renders else {}


def channel_asset(cfg: ChannelConfig) -> Asset:
    return Asset(name=f"longform_{cfg.channel}", uri=cfg.asset_uri)


def build_longform(cfg: ChannelConfig) -> DAG:
    ch = cfg.channel
    asset = channel_asset(cfg)
    schedule = CronTriggerTimetable(cfg.schedule, timezone=cfg.timezone) if cfg.schedule else None
    with DAG(
        dag_id=f"longform_{ch}",
        description=f"{cfg.title}: topic -> knowledge -> research -> script -> narration -> b-roll -> render -> publish",
        # no start_date: the first scheduled run is the next cron time, not an immediate catch-up run
        schedule=schedule,
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        auto_register=False,
        max_consecutive_failed_dag_runs=3,
        default_args=DEFAULT_ARGS,
        tags=["nicheflow", ch, "longform"],
        params={
            "topic": Param(
                "",
                type="string",
                maxLength=metadata.TOPIC_INPUT_MAX,
                title="Topic",
                description=f"Plain words, at most {metadata.TOPIC_MAX} characters (markup is removed). "
                "Leave empty to take the channel's next backlog topic.",
            ),
            "target_seconds": Param(
                None,
                type=["null", "integer"],
                minimum=20,
                maximum=1800,
                title="Target length (seconds)",
                description="Leave empty for the channel's configured length.",
            ),
            "allow_similar": Param(
                False,
                type="boolean",
                title="Allow a similar topic",
                description="Make the video even if the channel already covered a similar topic.",
            ),
        },
        doc_md=f"**{cfg.title}** ({cfg.language}). Trigger with a topic, or leave it empty for the backlog. "
        "Checkpoints wait for `nicheflow approve ID` (list them with `nicheflow pending`).",
    ) as dag:

        @task(task_id="start")
        def start(**context) -> int:
            from nicheflow_airflow.tasks import run_stage

            from pipelines.stages import start

            params = context["params"]
            return run_stage(
                "start",
                start.run,
                ch,
                params.get("topic"),
                context["run_id"],
                params.get("target_seconds"),
                bool(params.get("allow_similar")),
            )

        def stage_task(stage: Stage, production_id) -> StageTask:
            def run(production_id: int, **context):
                from nicheflow_airflow.tasks import run_stage

                from pipelines.stages import runner

                result = run_stage(stage.task_id, runner.run, stage.task_id, production_id, channel=ch)
                if stage.emits_asset:
                    context["outlet_events"][asset].extra = result
                return result

            return StageTask(
                task_id=stage.task_id,
                python_callable=run,
                op_args=[production_id],
                outlets=[asset] if stage.emits_asset else [],
                **placement(stage),
            )

        def review(stage: Stage) -> CheckpointSensor:
            return CheckpointSensor(
                task_id=f"review_{stage.task_id}",
                stage=stage.task_id,
                poll_seconds=cfg.checkpoints.poll_seconds,
                retries=1,
                stall_after=timedelta(hours=cfg.checkpoints.timeout_hours),
                remind_every=timedelta(hours=cfg.checkpoints.reminder_hours),
                checkpoint_id=f"{{{{ ti.xcom_pull(task_ids='{stage.task_id}') }}}}",
                **placement(stage),
            )

        pid = start()
        prev = None
        for stage in registry.of_dag("longform"):
            if stage.task_id == "start":
                continue
            produced = stage_task(stage, pid)
            if prev is not None:
                prev >> produced
            prev = produced
            if stage.checkpoint:
                prev = produced >> review(stage)
    return dag


def build_shorts(cfg: ChannelConfig) -> DAG:
    ch = cfg.channel
    with DAG(
        dag_id=f"shorts_{ch}",
        description=f"{cfg.title}: 9:16 Shorts cut from each published long-form video",
        schedule=channel_asset(cfg),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        auto_register=False,
        default_args=DEFAULT_ARGS,
        tags=["nicheflow", ch, "shorts"],
    ) as dag:

        def shorts(**context) -> list[dict]:
            from nicheflow_airflow.tasks import run_stage

            from pipelines.stages import shorts

            done = []
            for events in context["triggering_asset_events"].values():
                for event in events:  # queued events collapse into one run: handle every one
                    production_id = int(event.extra["production_id"])
                    done.extend(run_stage("shorts", shorts.run, production_id, ch, channel=ch))
            return done

        StageTask(task_id="shorts", python_callable=shorts, **placement(registry.get("shorts")))
    return dag


def build_all() -> dict[str, DAG]:
    loaded = load_all()
    for name, message in loaded.errors.items():
        log.error("skipping %s: %s", name, message)
    if loaded.errors and os.environ.get("NICHEFLOW_STRICT_CONFIG") == "1":
        raise ValueError("invalid channel configs:\n" + "\n".join(loaded.errors.values()))
    wanted = get_parsing_context().dag_id
    dags: dict[str, DAG] = {}
    for cfg in loaded.configs.values():
        for builder, prefix in ((build_longform, "longform_"), (build_shorts, "shorts_")):
            dag_id = prefix + cfg.channel
            if wanted and wanted != dag_id:
                continue  # a worker running one task builds only that task's DAG
            try:
                dags[dag_id] = builder(cfg)
            except Exception:  # one channel's bad DAG never hides the others
                log.exception("could not build %s", dag_id)
    return dags


globals().update(build_all())
