"""Start and stop everything nicheflow runs on one machine: the embedded PostgreSQL (unless DATABASE_URL
is set), the schema migrations, and Airflow's api-server, scheduler, dag-processor and triggerer with
their metadata in PostgreSQL. `Stack` is used by `nicheflow run`, `nicheflow demo` and the e2e tests.

Executors: LocalExecutor (the default), or CeleryExecutor (`executor="celery"`, `make run EXECUTOR=celery
WORKERS=2`): a local Redis as the broker (Debian's redis-server, data in the data folder) and, per
worker, one Celery worker for the `default` queue and one for the `render` queue with concurrency 1, so
each machine runs at most one ffmpeg render; the `render` pool caps renders across the cluster. A worker
can be given an environment of its own (`start_worker`), as a second machine would have."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from pipelines import db
from pipelines.local import pgembed, redisembed
from pipelines.paths import REPO, config_dir, data_dir
from pipelines.stages.registry import RENDER

log = logging.getLogger(__name__)
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
USERS = ("admin", "reviewer", "viewer")
MAX_RESTARTS = 5  # per component, while the stack runs


class StackError(RuntimeError):
    pass


def _secret_file(path: Path, make) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _sqlalchemy_url(url: str) -> str:
    return (
        url.replace("postgresql://", "postgresql+psycopg2://", 1) if url.startswith("postgresql://") else url
    )


def machine_hostname() -> str:
    """[core] hostname_callable of the local Celery workers: the worker's name (NICHEFLOW_MACHINE), so the
    task instances say which of the machines on this host ran them."""
    import socket

    return os.environ.get("NICHEFLOW_MACHINE") or socket.getfqdn()


def render_slots() -> int:
    """Renders at once across the cluster (the `render` pool): NICHEFLOW_RENDER_SLOTS, else one per two
    cores of this machine (ffmpeg's encoder keeps two cores busy)."""
    return max(1, int(os.environ.get("NICHEFLOW_RENDER_SLOTS") or (os.cpu_count() or 2) // 2))


class Stack:
    def __init__(self, port: int = 8080, executor: str | None = None, workers: int | None = None):
        self.port = port
        self.home = data_dir() / "airflow"
        self.procs: dict[str, subprocess.Popen] = {}
        self.started_postgres = False
        self.executor = (executor or os.environ.get("NICHEFLOW_EXECUTOR") or "local").lower()
        if self.executor not in EXECUTORS:
            raise StackError(f"executor {self.executor!r}: use one of {', '.join(EXECUTORS)}")
        self.workers = int(workers if workers is not None else os.environ.get("NICHEFLOW_WORKERS") or 1)
        self.redis = redisembed.Redis(data_dir() / "redis") if self.executor == "celery" else None
        self._env: dict[str, str] = {}
        self.restarts: list[str] = []  # the components check_alive started again, once per restart
        self._spawned: dict[str, tuple[list[str], dict[str, str]]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def passwords(self) -> dict[str, str]:
        raw = _secret_file(
            self.home / "passwords.json", lambda: json.dumps({u: secrets.token_urlsafe(12) for u in USERS})
        )
        return json.loads(raw)

    def database(self) -> str:
        if os.environ.get("DATABASE_URL"):
            return os.environ["DATABASE_URL"]
        self.started_postgres = not pgembed.is_running()
        return pgembed.ensure_running()

    def env(self, project_db: str) -> dict[str, str]:
        env = dict(os.environ)
        airflow_db = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or (
            db.embedded_url("airflow") if not os.environ.get("DATABASE_URL") else project_db
        )
        bindir = str(Path(sys.executable).parent)
        env.update(
            {
                "DATABASE_URL": project_db,
                "NICHEFLOW_DATA_DIR": str(data_dir()),
                "NICHEFLOW_CONFIG_DIR": str(config_dir()),
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW_CONFIG": str(REPO / "airflow.cfg"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _sqlalchemy_url(airflow_db),
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": _secret_file(
                    self.home / "jwt_secret", lambda: secrets.token_hex(32)
                ),
                "AIRFLOW__CORE__FERNET_KEY": _secret_file(self.home / "fernet_key", _fernet_key),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
                "PYTHONPATH": os.pathsep.join(
                    [str(REPO), str(REPO / "plugins"), env.get("PYTHONPATH", "")]
                ).rstrip(":"),
                "PATH": bindir + os.pathsep + env.get("PATH", ""),
                "AIRFLOW__CORE__EXECUTOR": EXECUTORS[self.executor],
            }
        )
        if self.redis is not None:
            env.update(
                {
                    "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
                    "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
                }
            )
        return env

    def start(self) -> None:
        project_db = self.database()
        applied = db.migrate(project_db)
        log.info("project database ready (%s new migrations)", len(applied))
        self.passwords()
        if self.redis is not None:
            self.redis.start()
        env = self._env = self.env(project_db)
        airflow = str(Path(sys.executable).parent / "airflow")
        self.home.mkdir(parents=True, exist_ok=True)
        log.info("migrating Airflow's metadata database")
        res = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True)
        if res.returncode != 0:
            raise StackError(f"`airflow db migrate` failed:\n{res.stderr[-3000:]}")
        for name in COMPONENTS:
            self._spawn(name, [airflow, name], env)
        self.wait_healthy()
        self.ensure_render_pool()
        if self.executor == "celery":
            for n in range(1, self.workers + 1):
                self.start_worker(f"worker{n}")

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self._spawned[name] = (args, env)  # how to start it again
        logfile = open(self.home / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            args,
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def start_worker(
        self,
        name: str,
        extra_env: dict[str, str] | None = None,
        concurrency: int = 2,
        queues: tuple[str, ...] = ("default", RENDER),
    ) -> None:
        """One machine's Celery workers: `<name>` for the default queue and `<name>-render` for the render
        queue with concurrency 1 (of `queues`). `extra_env` is that machine's own (e.g. its
        NICHEFLOW_DATA_DIR). Task logs go to the shared log folder, so no worker serves logs."""
        airflow = str(Path(sys.executable).parent / "airflow")
        for worker, queue, conc in ((name, "default", concurrency), (f"{name}-render", RENDER, 1)):
            if queue in queues:
                # the task instances it runs record it as their host (the UI's "hostname")
                env = {**self._env, "NICHEFLOW_MACHINE": worker, **(extra_env or {})}
                env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = "pipelines.local.stack.machine_hostname"
                args = [airflow, "celery", "worker", "-q", queue, "-c", str(conc), "-H", f"{worker}@%h"]
                self._spawn(worker, [*args, "--skip-serve-logs"], env)

    def ensure_render_pool(self) -> None:
        """The `render` pool (registry.RENDER) with render_slots() slots, made or resized through the API."""
        client = AirflowClient(self.url, "admin", self.passwords()["admin"])
        body = {
            "slots": render_slots(),
            "description": "ffmpeg renders across the cluster",
            "include_deferred": False,
        }
        r = client.http.post("/pools", json={"name": RENDER, **body})
        if r.status_code == 409:  # there already (a restart): its size follows this machine's setting
            r = client.http.patch(
                f"/pools/{RENDER}", json={"pool": RENDER, **body}
            )  # Airflow wants every field
        if r.status_code >= 400:
            raise StackError(
                f"could not make the {RENDER} pool: Airflow answered {r.status_code} {r.text[:300]}"
            )

    def wait_healthy(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if httpx.get(f"{self.url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise StackError(
            f"Airflow api-server not healthy on {self.url} after {timeout:.0f} s; "
            f"see {self.home / 'api-server.log'}"
        )

    def check_alive(self) -> None:
        """Start again a component that exited, as compose's `restart: unless-stopped` does (Airflow's
        scheduler and dag-processor exit when their database restarts); more than MAX_RESTARTS restarts of
        one component is a StackError with the end of its log."""
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            tail = (self.home / f"{name}.log").read_text(errors="replace")[-3000:]
            if self.restarts.count(name) >= MAX_RESTARTS:
                raise StackError(
                    f"airflow {name} exited with code {proc.returncode} "
                    f"(restarted {MAX_RESTARTS} times already):\n{tail}"
                )
            if not self._database_up():  # it would exit again at once: wait for the database first
                log.warning(
                    "airflow %s exited (code %s); the database is unreachable, waiting", name, proc.returncode
                )
                continue
            self.restarts.append(name)
            log.warning("airflow %s exited with code %s; starting it again", name, proc.returncode)
            self._spawn(name, *self._spawned[name])

    def _database_up(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self._env.get("DATABASE_URL") or db.database_url(), connect_timeout=3):
                return True
        except psycopg.OperationalError:
            return False

    def stop(self) -> None:
        """Stop the components one by one, the api-server last (the others talk to it while stopping)."""
        for name in reversed(list(self.procs)):
            proc = self.procs.pop(name)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log.warning("airflow %s did not stop within 20 s; killing it", name)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.redis is not None:
            self.redis.stop()
        if self.started_postgres:
            pgembed.stop()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


class AirflowClient:
    """The few REST calls nicheflow makes to its Airflow (token auth, as an external tool would)."""

    def __init__(self, base_url: str, username: str, password: str):
        token = (
            httpx.post(
                f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30
            )
            .raise_for_status()
            .json()["access_token"]
        )
        self.http = httpx.Client(
            base_url=f"{base_url}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def wait_for_dag(self, dag_id: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.http.get(f"/dags/{dag_id}").status_code == 200:
                return
            time.sleep(2)
        raise StackError(
            f"DAG {dag_id} did not appear within {timeout:.0f} s: check the dag-processor log "
            "and `nicheflow validate`"
        )

    def trigger(self, dag_id: str, conf: dict) -> str:
        r = self.http.post(f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        if r.status_code >= 400:
            raise StackError(f"could not trigger {dag_id}: {r.status_code} {r.text}")
        return r.json()["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.http.get(f"/dags/{dag_id}/dagRuns/{run_id}").raise_for_status().json()["state"]

    def runs(self, dag_id: str) -> list[dict]:
        return (
            self.http.get(f"/dags/{dag_id}/dagRuns", params={"order_by": "-start_date"})
            .raise_for_status()
            .json()["dag_runs"]
        )

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        r = self.http.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").raise_for_status().json()
        return {t["task_id"]: t["state"] for t in r["task_instances"]}

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict:
        """One task instance of a run: its state, try_number, note, start and end."""
        return (
            self.http.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
            .raise_for_status()
            .json()
        )

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The log of one try of a task, as text (one line per log event, with its level and message)."""
        r = self.http.get(
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"full_content": "true"},
            headers={"Accept": "application/json"},
        ).raise_for_status()
        lines = []
        for item in r.json()["content"]:
            if isinstance(item, dict):
                extra = {k: v for k, v in item.items() if k not in ("event", "timestamp", "level")}
                lines.append(
                    " ".join(str(x) for x in (item.get("level", ""), item.get("event", ""), extra or ""))
                )
            else:
                lines.append(str(item))
        return "\n".join(lines)

    def set_run_state(self, dag_id: str, run_id: str, state: str) -> None:
        """Mark a run success/failed/queued, as the UI's "mark as" does (unfinished tasks follow)."""
        self.http.patch(f"/dags/{dag_id}/dagRuns/{run_id}", json={"state": state}).raise_for_status()

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.http.patch(f"/dags/{dag_id}", json={"is_paused": paused}).raise_for_status()
