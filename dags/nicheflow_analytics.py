"""Daily YouTube Analytics pull (pipelines/analytics.py): one task per channel whose publish provider is
youtube, at 05:00 UTC (after the knowledge upkeep at 03:30; YouTube's figures are 48-72 hours late anyway,
so the hour matters little). Separate tasks, so one channel's failure never stops another's pull.

A channel that is skipped (its token revoked, its analytics answering 403, not connected, the quota spent)
ends its task as a success with a warning in the log and the reason in analytics_pulls (the Analytics page
and `nicheflow analytics show` show it): retrying cannot help until a person reconnects the channel, and a
failed task would page nobody yet but mark the DAG red every day. A refused request fails the task without
retries; anything else (YouTube unreachable, 5xx) is retried twice. Nothing heavy is imported at parse time."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, task

from pipelines.config import load_all

with DAG(
    dag_id="nicheflow_analytics",
    description="YouTube Analytics per video, every channel that publishes to YouTube",
    schedule="0 5 * * *",
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,
    tags=["nicheflow", "analytics"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(hours=1),
    },
    doc_md="Pulls each YouTube channel's video analytics into PostgreSQL. `nicheflow analytics show CHANNEL` "
    "prints them; a channel that is skipped says why in its task log.",
) as dag:
    for cfg in load_all().configs.values():
        if cfg.publish.provider != "youtube":
            continue

        @task(task_id=f"analytics_{cfg.channel}")
        def pull(channel: str = cfg.channel) -> dict:
            import logging

            from airflow.sdk.exceptions import AirflowFailException
            from nicheflow_airflow.credentials import export_publish_connections

            from pipelines import analytics
            from pipelines.errors import is_permanent

            export_publish_connections(channel)
            try:
                result = analytics.run(channel)
            except Exception as e:
                if is_permanent(e):
                    raise AirflowFailException(f"{e} [not retried: retrying cannot help]") from e
                raise
            if result.outcome == "skipped":
                logging.getLogger(__name__).warning("analytics of %s skipped: %s", channel, result.message)
            return result.as_dict()

        pull()
