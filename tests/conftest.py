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
def stack_channel_edits() -> dict[str, dict]:
    """Per channel, the fields to set in its YAML for a test module's stack, as for tests.helpers.edit_yaml
    ({"science_en": {"llm.provider": "groq"}}); override in a module."""
    return {}


def _unpause_channel_dags() -> None:
    """Airflow's metadata database outlives a module: a channel DAG an earlier module's failures paused
    (max_consecutive_failed_dag_runs) would leave this module's runs queued forever."""
    import psycopg

    from pipelines.db import embedded_url

    if os.environ.get("DATABASE_URL") or os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        return  # not the embedded one this suite starts
    try:
        with psycopg.connect(embedded_url("airflow"), autocommit=True) as conn:
            conn.execute(
                "UPDATE dag SET is_paused = false WHERE dag_id LIKE 'longform_%' OR dag_id LIKE 'shorts_%'"
            )
    except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
        pass  # no Airflow database yet: nothing was paused


@pytest.fixture(scope="module")
def airflow_stack(tmp_path_factory, pg_server, stack_channel_edits):
    """The real Airflow stack (api-server, scheduler, dag-processor, triggerer) on a free port, with the
    sample channels set to manual runs, an empty project schema, and `stack.client` logged in as admin.
    Environment variables a module sets before it starts reach every Airflow process (and its tasks)."""
    from pipelines.config import load_config
    from pipelines.db import connect
    from pipelines.local.stack import AirflowClient, Stack

    mp = pytest.MonkeyPatch()
    cfg_dir = tmp_path_factory.mktemp("niche_configs")
    samples = {src.stem: src for src in (REPO / "niche_configs").glob("*.yaml")}
    if unknown := set(stack_channel_edits) - set(samples):
        raise KeyError(f"stack edits for {sorted(unknown)}: the sample channels are {sorted(samples)}")
    for channel, src in samples.items():
        path = shutil.copy(src, cfg_dir / src.name)
        edit_yaml(path, {"schedule": None, "checkpoints.poll_seconds": 2}, existing=True)
        edit_yaml(path, stack_channel_edits.get(channel, {}))
        load_config(path)  # an edit the config refuses fails here, naming the field
    mp.setenv("NICHEFLOW_CONFIG_DIR", str(cfg_dir))
    with connect() as conn:
        conn.execute("DROP SCHEMA IF EXISTS nicheflow CASCADE")
    shutil.rmtree(data_dir_path() / "channels", ignore_errors=True)  # files go with the rows
    _unpause_channel_dags()
    try:
        with Stack(free_port()) as stack:
            stack.client = AirflowClient(stack.url, "admin", stack.passwords()["admin"])
            yield stack
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def moto_s3():
    """moto's S3 server on loopback for the session (tests.helpers.s3.MotoS3)."""
    from tests.helpers.s3 import MotoS3

    with MotoS3() as server:
        yield server


@pytest.fixture
def s3_storage(moto_s3, monkeypatch, request):
    """Production storage in a fresh bucket of the moto server: NICHEFLOW_STORAGE_URL and the connection's
    AIRFLOW_CONN_<ID> are set for this test. Returns the pipelines.storage.S3Storage."""
    from pipelines import storage

    bucket = "t-" + "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:50].strip("-")
    for name, value in moto_s3.storage_env(bucket).items():
        monkeypatch.setenv(name, value)
    return storage.get()
