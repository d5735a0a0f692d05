"""docker/compose.yaml, checked by Debian's docker-compose (`config` needs no Docker engine): the services,
their queues and healthchecks, one Fernet key and JWT secret for all, and no secret written in the file.
docker/install-system-deps.sh --test installs docker-compose (make test runs it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pipelines.paths import REPO

COMPOSE = REPO / "docker" / "compose.yaml"
MAKE_ENV = REPO / "docker" / "make-env.sh"
AIRFLOW_SERVICES = {"api-server", "scheduler", "dag-processor", "triggerer", "worker", "worker-render"}
SECRETS = ("POSTGRES_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY")


def _compose(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is missing: run docker/install-system-deps.sh --test (as root, or with sudo)"
    env = {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith("NICHEFLOW_")}
    env["NICHEFLOW_ENV_FILE"] = str(env_file)
    return subprocess.run(
        [exe, "-f", str(COMPOSE), "--env-file", str(env_file), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _secrets(env_file: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in env_file.read_text().splitlines() if line and line[0] != "#")
    return {k: v for k, v in pairs}


@pytest.fixture(scope="module")
def env_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("compose") / "nicheflow.env"
    subprocess.run([str(MAKE_ENV), str(path)], check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def resolved(env_file) -> dict:
    res = _compose(env_file, "config")
    assert res.returncode == 0, res.stderr
    return yaml.safe_load(res.stdout)


def test_the_services_of_one_server(resolved):
    assert set(resolved["services"]) == AIRFLOW_SERVICES | {"postgres", "redis", "airflow-init"}
    assert set(resolved["volumes"]) == {"postgres-data", "nicheflow-data"}


def test_render_has_its_own_queue_with_one_render_per_worker(resolved):
    services = resolved["services"]
    assert services["worker"]["command"].split()[:4] == ["celery", "worker", "--queues", "default"]
    assert services["worker-render"]["command"] == "celery worker --queues render --concurrency 1"
    for name in ("worker", "worker-render"):
        assert services[name]["environment"]["DUMB_INIT_SETSID"] == "0"  # warm shutdown on SIGTERM


def test_every_long_running_service_has_a_healthcheck(resolved):
    services = resolved["services"]
    for name in AIRFLOW_SERVICES | {"postgres", "redis"}:
        assert services[name]["healthcheck"]["test"], name
    assert "http://localhost:8080/api/v2/monitor/health" in services["api-server"]["healthcheck"]["test"]
    assert "http://localhost:8974/health" in services["scheduler"]["healthcheck"]["test"]
    assert "DagProcessorJob" in " ".join(services["dag-processor"]["healthcheck"]["test"])
    assert "TriggererJob" in " ".join(services["triggerer"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(services["worker-render"]["healthcheck"]["test"])


def test_the_init_job_migrates_airflow_and_the_project_before_anything_starts(resolved):
    services = resolved["services"]
    script = " ".join(services["airflow-init"]["command"])
    assert script.index("airflow db migrate") < script.index("nicheflow db")
    assert 'airflow pools set render 2 "' in script  # the render pool the rendering stages use
    assert "Stack().passwords()" in script
    for name in AIRFLOW_SERVICES:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_all_components_share_the_secrets_the_databases_and_the_data_volume(resolved, env_file):
    secrets = _secrets(env_file)
    services = resolved["services"]
    pw = secrets["POSTGRES_PASSWORD"]
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CORE__FERNET_KEY"] == secrets["AIRFLOW_FERNET_KEY"]
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == secrets["AIRFLOW_JWT_SECRET"]
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-server:8080/execution/"
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
        # one server, two databases: Airflow's metadata and the project's schema
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith(f":{pw}@postgres:5432/airflow")
        assert env["DATABASE_URL"] == f"postgresql://nicheflow:{pw}@postgres:5432/nicheflow"
        assert "nicheflow-data:/opt/nicheflow/data:rw" in services[name]["volumes"], name
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == pw
    init = REPO / "docker" / "postgres-init" / "01-nicheflow.sql"
    assert "CREATE DATABASE nicheflow" in init.read_text()


def test_no_secret_is_written_in_the_file(env_file):
    text = COMPOSE.read_text()
    for value in _secrets(env_file).values():
        assert value not in text
    # every variable named like a secret takes its value from the env file
    for key, value in re.findall(
        r"^\s*([A-Z_]*(?:PASSWORD|SECRET|FERNET|TOKEN|KEY)[A-Z_]*):\s*(.+)$", text, re.M
    ):
        assert "${" in value or key.endswith("_FILE"), f"{key} has a literal value in compose.yaml"
    for url in re.findall(r"\w+://[^\s]+@", text):
        assert "${POSTGRES_PASSWORD" in url, url


def test_without_the_env_file_it_says_what_to_run(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    res = _compose(empty, "config")
    assert res.returncode != 0
    assert "run docker/make-env.sh" in res.stderr


def test_make_env_never_overwrites(env_file):
    before = env_file.read_text()
    res = subprocess.run([str(MAKE_ENV), str(env_file)], capture_output=True, text=True)
    assert res.returncode == 1 and "not overwriting" in res.stderr
    assert env_file.read_text() == before
    assert env_file.stat().st_mode & 0o077 == 0
