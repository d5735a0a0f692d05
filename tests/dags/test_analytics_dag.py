"""The analytics DAG: one task per channel that publishes to YouTube, daily after the upkeep."""

import sys

from pipelines.paths import REPO
from tests.helpers import edit_yaml

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; a plain DagBag does not


def test_one_pull_task_per_youtube_channel(tmp_path, monkeypatch, configs):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    edit_yaml(configs / "science_en.yaml", {"publish.provider": "youtube", "publish.youtube.project": "main"})
    bag = DagBag(dag_folder=str(REPO / "dags" / "nicheflow_analytics.py"))
    assert bag.import_errors == {}
    dag = bag.dags["nicheflow_analytics"]
    assert dag.task_ids == ["analytics_science_en"]  # historia_ptbr publishes to its outbox: nothing to pull
    assert (
        dag.timetable.expression == "0 5 * * *" and str(dag.timetable.timezone) == "UTC" and not dag.catchup
    )
    assert dag.get_task("analytics_science_en").retries == 2


def test_a_skipped_channel_ends_its_task_as_a_success_with_the_reason(
    tmp_path, monkeypatch, configs, database
):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    edit_yaml(configs / "science_en.yaml", {"publish.provider": "youtube", "publish.youtube.project": "main"})
    task = (
        DagBag(dag_folder=str(REPO / "dags" / "nicheflow_analytics.py")).dags["nicheflow_analytics"].tasks[0]
    )
    result = task.python_callable()  # not connected: no token, no OAuth client
    assert result["outcome"] == "skipped" and "nicheflow youtube connect science_en" in result["message"]
