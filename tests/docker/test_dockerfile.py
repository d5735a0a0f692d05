"""docker/Dockerfile and .dockerignore, read as text (no Docker engine runs here, no image is built): the base
image, the shared system-packages script, the pinned lock, and every part of the project copied in."""

from __future__ import annotations

import fnmatch
import re
import subprocess

from pipelines.paths import REPO

DOCKERFILE = (REPO / "docker" / "Dockerfile").read_text()
IGNORED = [
    line.strip()
    for line in (REPO / ".dockerignore").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
PROJECT = {"airflow.cfg", "sql", "knowledge", "pipelines", "plugins", "dags", "niche_configs"}


def _instructions(name: str) -> list[str]:
    joined = DOCKERFILE.replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def _ignored(path: str) -> bool:
    return any(fnmatch.fnmatch(path, pat) or path.startswith(pat.rstrip("/") + "/") for pat in IGNORED)


def test_on_the_official_airflow_image():
    assert _instructions("FROM") == ["apache/airflow:3.3.2-python3.11"]


def test_system_packages_come_from_the_script_make_uses():
    (run_root,) = [r for r in _instructions("RUN") if "install-system-deps.sh" in r]
    assert "install-system-deps.sh --image" in run_root
    assert DOCKERFILE.index("USER root") < DOCKERFILE.index("install-system-deps.sh --image")
    assert DOCKERFILE.index("--image") < DOCKERFILE.index("USER airflow")


def test_the_pinned_lock_with_airflow_named():
    assert any(
        'pip install --no-cache-dir "apache-airflow==3.3.2" -r requirements.txt' in r
        for r in _instructions("RUN")
    )
    assert any("pip install --no-cache-dir --no-deps -e ." in r for r in _instructions("RUN"))


def test_every_part_of_the_project_is_copied_and_not_ignored():
    sources = set()
    for copy in _instructions("COPY"):
        args = [a for a in copy.split() if not a.startswith("--")]
        sources |= {a.rstrip("/") for a in args[:-1]}
    assert PROJECT | {"requirements.txt", "pyproject.toml"} <= sources
    for src in sources:
        assert (REPO / src).exists(), src
        assert not _ignored(src), f"{src} is copied but .dockerignore leaves it out"


def test_environment_names_the_config_and_the_folders():
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(_instructions("ENV"))))
    assert env["AIRFLOW_CONFIG"] == "/opt/nicheflow/airflow.cfg"
    assert env["NICHEFLOW_CONFIG_DIR"] == "/opt/nicheflow/niche_configs"
    assert env["NICHEFLOW_DATA_DIR"] == "/opt/nicheflow/data"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/nicheflow/dags"


def test_the_secrets_file_never_enters_the_build_context():
    assert _ignored(".env") and _ignored("docker/.env")


def test_the_system_packages_script_refuses_an_unknown_mode():
    res = subprocess.run(
        [str(REPO / "docker" / "install-system-deps.sh"), "--bogus"], capture_output=True, text=True
    )
    assert res.returncode == 2 and "usage" in res.stderr
