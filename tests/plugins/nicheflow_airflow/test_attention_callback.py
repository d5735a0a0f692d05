"""A task that fails after its retries marks its production needs attention, with the kind of error and what
to do, and its alert goes out at once: a real long-form DAG run through `dag.test()` (Airflow's own task
runner calls the callbacks), on a topic the channel knows nothing about."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from pipelines import attention
from pipelines.db import connect
from pipelines.paths import REPO
from tests.helpers.alert_receivers import smtp_server, webhook_receiver

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; pytest does not


@pytest.fixture
def airflow_db(tmp_path, monkeypatch):
    """Airflow's metadata in a fresh SQLite file (dag.test() needs one)."""
    home = tmp_path / "airflow"
    home.mkdir()
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
    from airflow import settings
    from airflow.utils import db

    settings.configure_vars()  # an earlier test may have imported settings with another AIRFLOW_HOME
    settings.configure_orm()
    db.resetdb()
    yield
    settings.dispose_orm()


def test_a_failed_stage_marks_its_production_needs_attention_and_alerts_at_once(
    airflow_db, database, configs, data_dir, monkeypatch
):
    from airflow.dag_processing.dagbag import DagBag

    with smtp_server() as smtp, webhook_receiver() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp.conn_json())
        monkeypatch.setenv("AIRFLOW_CONN_OPS_HOOK", hook.conn_json())
        monkeypatch.setenv("NICHEFLOW_ALERT_WEBHOOK_CONN", "ops_hook")
        monkeypatch.setenv("NICHEFLOW_ALERT_EMAIL", "ops@example.org")
        dag = DagBag(dag_folder=str(REPO / "dags" / "nicheflow_channels.py")).dags["longform_science_en"]
        run = dag.test(run_conf={"topic": "Medieval basket weaving techniques"})
        assert run.state == "failed"

        with connect() as conn:
            [mark] = attention.listing(conn)
        assert mark.channel == "science_en" and mark.dag_id == "longform_science_en"
        assert mark.dag_run_id == run.run_id and mark.production_id is not None
        assert mark.topic == "Medieval basket weaving techniques"
        assert (mark.stage, mark.category) == (mark.task_id, "data_quality")
        assert mark.error.startswith("NoFacts: ")
        assert "add or fix a source document, choose another topic, or reject the production" in mark.advice

        [mail] = smtp.mails  # sent by the callback, not at the next ops run
        assert mail.subject == f"[WARNING] science_en: {mark.task_id} needs attention (data_quality)"
        assert "What to do: The content is the problem" in mail.text
        assert len(hook.posts) == 1

    # the stage is retried (the Review page clears the task) and succeeds: the mark is cleared
    ti = SimpleNamespace(dag_id=mark.dag_id, run_id=mark.dag_run_id, task_id=mark.task_id)
    from nicheflow_airflow.notifiers import task_succeeded

    with connect() as conn:
        attention.request_retry(conn, mark.id, "reviewer")
    task_succeeded({"ti": ti})
    with connect() as conn:
        assert attention.listing(conn) == []
        assert attention.get(conn, mark.id).cleared_because == "succeeded"
