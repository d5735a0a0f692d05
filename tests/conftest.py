"""Test session set-up: a private data folder and a real embedded PostgreSQL on a free port, so tests
never touch a developer's running nicheflow. Each test gets a freshly migrated, empty schema."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tests.helpers import edit_yaml, free_port

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="nicheflow-test-"))
os.chmod(_SESSION_DIR, 0o755)  # the postgres system user must reach the cluster inside it
os.environ["NICHEFLOW_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ["NICHEFLOW_PG_PORT"] = str(free_port())
os.environ.pop("DATABASE_URL", None)

import pytest  # noqa: E402

from pipelines import db  # noqa: E402
from pipelines.local import pgembed  # noqa: E402
from pipelines.paths import REPO  # noqa: E402
from pipelines.paths import data_dir as data_dir_path  # noqa: E402


@pytest.fixture(scope="session")
def pg_server():
    url = pgembed.ensure_running()
    yield url
    pgembed.stop()
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture
def database(pg_server):
    """The project database, emptied and migrated for this test."""
    with db.connect(pg_server) as conn:
        conn.execute("DROP SCHEMA IF EXISTS nicheflow CASCADE")
    db.migrate(pg_server)
    return pg_server


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "data"
    monkeypatch.setenv("NICHEFLOW_DATA_DIR", str(d))
    return d


@pytest.fixture
def configs(tmp_path, monkeypatch):
    """A config folder holding copies of the sample channels, shortened for tests."""
    d = tmp_path / "niche_configs"
    d.mkdir()
    for src in (REPO / "niche_configs").glob("*.yaml"):
        shutil.copy(src, d / src.name)
        edit_yaml(d / src.name, {"target_seconds": 30}, existing=True)
    monkeypatch.setenv("NICHEFLOW_CONFIG_DIR", str(d))
    return d


@pytest.fixture(scope="module")
def stack_config_edits() -> dict[str, str]:
    """Per channel, YAML lines to add under `checkpoints:` for a test module's stack (override in a module)."""
    return {}


@pytest.fixture(scope="module")
def stack_channel_edits() -> dict:
    """Per channel, a function taking the channel's YAML (as yaml.safe_load reads it) and returning it
    changed, for a test module's stack (override in a module; build changes with `set_fields`)."""
    return {}


def set_fields(raw: dict, changes: dict[str, object]) -> dict:
    """`raw` (a channel YAML loaded with yaml.safe_load) with each dotted field set: {"voice.provider":
    "azure"}. A field must be one ChannelConfig has (a section the YAML leaves out is added): a KeyError
    names any other, so a renamed field fails here rather than as a DAG that never appears."""
    from pydantic import BaseModel

    from pipelines.config import ChannelConfig

    for dotted, value in changes.items():
        model: type[BaseModel] | None = ChannelConfig
        node = raw
        *parents, leaf = dotted.split(".")
        for part in [*parents, leaf]:
            if model is None or part not in model.model_fields:
                raise KeyError(f"{dotted}: {part!r} is not a channel config field")
            ann = model.model_fields[part].annotation
            model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        for part in parents:
            node = node.setdefault(part, {})
            assert isinstance(node, dict), f"{dotted}: {part!r} in the channel YAML is not a mapping"
        node[leaf] = value
    return raw


@pytest.fixture(scope="module")
def airflow_stack(tmp_path_factory, pg_server, stack_config_edits, stack_channel_edits):
    """The real Airflow stack (api-server, scheduler, dag-processor, triggerer) on a free port, with the
    sample channels set to manual runs, an empty project schema, and `stack.client` logged in as admin.
    Environment variables a module sets before it starts reach every Airflow process (and its tasks)."""
    import yaml

    from pipelines.config import load_config
    from pipelines.db import connect
    from pipelines.local.stack import AirflowClient, Stack

    mp = pytest.MonkeyPatch()
    cfg_dir = tmp_path_factory.mktemp("niche_configs")
    samples = {src.stem: src for src in (REPO / "niche_configs").glob("*.yaml")}
    if unknown := {*stack_config_edits, *stack_channel_edits} - set(samples):
        raise KeyError(f"stack edits for {sorted(unknown)}: the sample channels are {sorted(samples)}")
    for channel, src in samples.items():
        text = src.read_text(encoding="utf-8")
        text = "\n".join(
            "schedule: null" if line.startswith("schedule:") else line for line in text.splitlines()
        )
        extra = stack_config_edits.get(channel, "")
        text = text.replace("poll_seconds: 10", "poll_seconds: 2" + (f"\n  {extra}" if extra else ""))
        edit = stack_channel_edits.get(channel)
        if edit:
            changed = edit(yaml.safe_load(text))
            assert isinstance(changed, dict), (
                f"the stack edit of {channel} returned {changed!r}, not a mapping"
            )
            text = yaml.safe_dump(changed, sort_keys=False, allow_unicode=True)
        (cfg_dir / src.name).write_text(text, encoding="utf-8")
        if edit:
            load_config(cfg_dir / src.name)  # an edit the config refuses fails here, naming the field
    mp.setenv("NICHEFLOW_CONFIG_DIR", str(cfg_dir))
    with connect() as conn:
        conn.execute("DROP SCHEMA IF EXISTS nicheflow CASCADE")
    shutil.rmtree(data_dir_path() / "channels", ignore_errors=True)  # files go with the rows
    try:
        with Stack(free_port()) as stack:
            stack.client = AirflowClient(stack.url, "admin", stack.passwords()["admin"])
            yield stack
    finally:
        mp.undo()
