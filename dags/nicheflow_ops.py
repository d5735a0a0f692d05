"""Operations, every 5 minutes: look for what an operator should hear about (stalled checkpoints, quality
flags, slow renders, a channel DAG paused after its failed runs), raise the day's summaries and weekly reports
whose local time has come (each exactly once), then send every due alert (pipelines.alerts.dispatch: collapsed,
each destination once). Failed tasks send their own alerts at once from their callback; this run sends what
those could not."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task

with DAG(
    dag_id="nicheflow_ops",
    description="alerts: checks, daily summaries and weekly reports, delivery",
    schedule=timedelta(minutes=5),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,
    tags=["nicheflow", "ops"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
) as dag:

    @task(task_id="checks")
    def checks(**context) -> dict:
        """Every check, then the summaries; one failing check is logged and the others still run."""
        import logging

        from pipelines import alert_checks, clock, summaries
        from pipelines.alert_config import deployment
        from pipelines.config import load_all
        from pipelines.db import connect

        log = logging.getLogger(__name__)
        now = clock.now()
        configs = load_all().configs
        raised: dict[str, int] = {}
        with connect() as conn:
            for name, check in (
                ("stalled", alert_checks.stalled),
                ("quality", alert_checks.quality),
                ("slow_renders", alert_checks.slow_renders),
            ):
                try:
                    raised[name] = len(check(conn, now))
                except Exception:
                    conn.rollback()
                    log.exception("check %s failed", name)
            paused = 0
            for channel in configs:
                for dag_id in (f"longform_{channel}", f"shorts_{channel}"):
                    try:
                        is_paused = context["ti"].get_dag(dag_id).is_paused
                    except Exception as e:  # not parsed yet, or gone
                        log.warning("could not read %s: %s", dag_id, e)
                        continue
                    paused += alert_checks.paused(conn, channel, dag_id, is_paused, now) is not None
            raised["paused"] = paused
            raised["summaries"] = len(summaries.due(conn, configs.values(), deployment(), now))
        log.info("alerts raised: %s", raised)
        return raised

    @task(task_id="dispatch")
    def dispatch() -> int:
        """Send every due alert."""
        from nicheflow_airflow.notifiers import dispatch as send

        return send()

    checks() >> dispatch()
