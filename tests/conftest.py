"""Test session set-up: a private data folder and a real embedded PostgreSQL on a free port, so tests
never touch a developer's running nicheflow. Each test gets a freshly migrated, empty schema."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SESSION_DIR = Path(tempfile.mkdtemp(prefix="nicheflow-test-"))
os.chmod(_SESSION_DIR, 0o755)  # the postgres system user must reach the cluster inside it
os.environ["NICHEFLOW_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ["NICHEFLOW_PG_PORT"] = str(_free_port())
os.environ.pop("DATABASE_URL", None)

import pytest  # noqa: E402

from pipelines import db, pgembed  # noqa: E402
from pipelines.paths import REPO  # noqa: E402


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
        (d / src.name).write_text(src.read_text(encoding="utf-8").replace("target_seconds: 90", "target_seconds: 30"),
                                  encoding="utf-8")
    monkeypatch.setenv("NICHEFLOW_CONFIG_DIR", str(d))
    return d
