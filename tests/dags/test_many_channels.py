"""20 channels in one config folder (as tests/bench/bench_channels.py runs them): every YAML loads, the
channel DAG file builds a long-form and a Shorts DAG for each, and every rendering task of all 40 is in
the render queue and pool (which bound ffmpeg per machine and in the cluster). The parse time is measured
and reported, never asserted (the benchmark compares it across channel counts)."""

import sys
import time

import pytest

from pipelines.config import load_all
from pipelines.paths import REPO
from pipelines.stages import registry
from tests.helpers.channels import channel_ids, write_channels

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; a plain DagBag does not

CHANNELS = 20
RENDER_TASKS = {s.task_id for s in registry.STAGES if s.renders} | {
    f"review_{s.task_id}" for s in registry.STAGES if s.renders and s.checkpoint
}


@pytest.fixture
def many(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    folder = tmp_path / "niche_configs"
    write_channels(folder, CHANNELS)
    monkeypatch.setenv("NICHEFLOW_CONFIG_DIR", str(folder))
    return folder


def test_twenty_channels_load_in_both_languages(many):
    loaded = load_all(many)
    assert loaded.errors == {}
    assert sorted(loaded.configs) == sorted(channel_ids(CHANNELS))
    languages = [c.language for c in loaded.configs.values()]
    assert languages.count("en") == languages.count("pt-BR") == CHANNELS // 2
    assert len({c.title for c in loaded.configs.values()}) == CHANNELS
    for cfg in loaded.configs.values():
        assert cfg.schedule is None and cfg.target_seconds == 30
        assert cfg.sources_path.is_dir() and any(cfg.sources_path.glob("*.md"))  # knowledge works offline
        assert cfg.sources_dir.endswith(cfg.channel.rsplit("_", 1)[0])  # its sample's own sources


def test_the_dag_file_builds_forty_dags_with_renders_in_the_render_pool(many, record_property):
    from airflow.dag_processing.dagbag import DagBag

    start = time.perf_counter()
    bag = DagBag(dag_folder=str(REPO / "dags" / "nicheflow_channels.py"))
    seconds = time.perf_counter() - start
    record_property("parse_ms_per_channel", round(seconds * 1000 / CHANNELS, 1))  # reported, not asserted
    print(f"nicheflow_channels.py with {CHANNELS} channels: {seconds * 1000:.0f} ms")
    assert bag.import_errors == {}
    ids = channel_ids(CHANNELS)
    assert set(bag.dags) == {f"{kind}_{ch}" for ch in ids for kind in ("longform", "shorts")}
    assert len(bag.dags) == 2 * CHANNELS
    for ch in ids:
        longform, shorts = bag.dags[f"longform_{ch}"], bag.dags[f"shorts_{ch}"]
        assert (
            longform.max_active_runs == 1 and type(longform.timetable).__name__ == "NullTimetable"
        )  # manual
        assert shorts.timetable.asset_condition.uri == f"x-nicheflow://{ch}/longform"  # its own channel only
        for dag in (longform, shorts):
            for t in dag.tasks:
                if t.task_id in RENDER_TASKS:
                    assert (t.pool, t.queue) == (registry.RENDER, registry.RENDER), (
                        f"{dag.dag_id}.{t.task_id}"
                    )
                else:
                    assert t.pool != registry.RENDER and t.queue != registry.RENDER, (
                        f"{dag.dag_id}.{t.task_id}"
                    )
        assert RENDER_TASKS <= set(longform.task_ids) | set(shorts.task_ids)
