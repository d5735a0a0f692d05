"""Daily knowledge upkeep: per channel, consolidate near-duplicate facts and expire outdated ones
(`knowledge.fact_ttl_days` in the channel's YAML), and report the counts. One task per channel, so one
channel's failure leaves the others' upkeep done."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, task

from pipelines.config import load_all

with DAG(
    dag_id="nicheflow_upkeep",
    description="knowledge upkeep for every channel",
    schedule="30 3 * * *",
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,
    tags=["nicheflow", "upkeep"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
) as dag:
    for cfg in load_all().configs.values():

        @task(task_id=f"knowledge_{cfg.channel}")
        def upkeep(channel: str = cfg.channel, ttl_days: int | None = cfg.knowledge.fact_ttl_days) -> dict:
            import logging

            from knowledge import upkeep as k
            from pipelines.production import channel_db

            with channel_db(channel) as conn:
                report = k.run(conn, channel, ttl_days)
            logging.getLogger(__name__).info("knowledge upkeep %s", report)
            return report

        upkeep()
