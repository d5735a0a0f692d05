"""The DAG files load without import errors, build two DAGs per channel, and isolate a broken YAML."""

import sys

import pytest

from pipelines.paths import REPO

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; a plain DagBag does not


def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


@pytest.fixture
def airflow_home(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def test_two_dags_per_channel_with_the_reviewed_chain(airflow_home, configs):
    bag = dagbag()
    assert bag.import_errors == {}
    assert set(bag.dags) == {
        "longform_science_en",
        "shorts_science_en",
        "longform_historia_ptbr",
        "shorts_historia_ptbr",
        "nicheflow_upkeep",
        "nicheflow_analytics",  # no task while no sample channel publishes to YouTube
        "nicheflow_ops",
    }
    assert set(bag.dags["nicheflow_upkeep"].task_ids) == {"knowledge_science_en", "knowledge_historia_ptbr"}
    lf = bag.dags["longform_science_en"]
    chain = [
        "start",
        "knowledge",
        "script",
        "review_script",
        "audio",
        "review_audio",
        "broll",
        "review_broll",
        "final",
        "review_final",
        "publish",
        "learnings",
    ]
    for a, b in zip(chain, chain[1:], strict=False):
        assert b in lf.get_task(a).downstream_task_ids, f"{a} -> {b}"
    assert lf.max_active_runs == 1 and not lf.catchup
    assert set(lf.params.keys()) == {"topic", "target_seconds", "allow_similar"}
    assert lf.timetable.expression == "0 9 * * *" and str(lf.timetable.timezone) == "Europe/London"
    outlets = lf.get_task("learnings").outlets
    assert [a.uri for a in outlets] == ["x-nicheflow://science_en/longform"]
    from pipelines.stages import registry

    for stage in registry.STAGES:  # the registry's tasks are the DAGs' tasks
        dag = bag.dags[f"{stage.dag}_science_en"]
        assert stage.task_id in dag.task_ids
        assert (f"review_{stage.task_id}" in dag.task_ids) == stage.checkpoint
    shorts = bag.dags["shorts_science_en"]
    assert shorts.task_ids == ["shorts"]
    assert (
        shorts.timetable.asset_condition.uri == "x-nicheflow://science_en/longform"
    )  # each channel's Shorts listen only to their own asset


def test_broken_yaml_is_isolated_and_reported(airflow_home, configs):
    (configs / "broken_channel.yaml").write_text("channel: broken_channel\ntitle: [oops\n", encoding="utf-8")
    (configs / "bad_field.yaml").write_text("channel: bad_field\ncolour: red\n", encoding="utf-8")
    bag = dagbag()
    assert {"longform_science_en", "longform_historia_ptbr"} <= set(bag.dags)
    assert not any("broken" in d or "bad_field" in d for d in bag.dags)
    errors = {k.split("/")[-1]: v for k, v in bag.import_errors.items()}
    assert list(errors) == ["nicheflow_config_errors.py"]  # shown in the UI; the channel DAG file still loads
    assert "broken_channel.yaml" in errors["nicheflow_config_errors.py"]
    assert "colour" in errors["nicheflow_config_errors.py"]


def test_strict_mode_fails_the_channel_file(airflow_home, configs, monkeypatch):
    (configs / "broken_channel.yaml").write_text("channel: [\n", encoding="utf-8")
    monkeypatch.setenv("NICHEFLOW_STRICT_CONFIG", "1")
    errors = {k.split("/")[-1] for k in dagbag().import_errors}
    assert "nicheflow_channels.py" in errors


def test_checkpoint_trigger_serialises_to_plain_kwargs():
    from nicheflow_airflow.triggers import CheckpointTrigger

    path, kwargs = CheckpointTrigger(42, 3, 7200, 600).serialize()
    assert path == "nicheflow_airflow.triggers.CheckpointTrigger"
    assert kwargs == {
        "checkpoint_id": 42,
        "poll_seconds": 3.0,
        "timeout_seconds": 7200.0,
        "reminder_seconds": 600.0,
        "listen": True,
    }
    assert CheckpointTrigger(**kwargs).serialize() == (path, kwargs)
