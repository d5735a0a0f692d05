"""A local Redis for CeleryExecutor on one machine (`make run EXECUTOR=celery`): Debian's redis-server
(installed by `docker/install-system-deps.sh --celery`), on loopback only, its data in the data folder
with an append-only file, so tasks queued before a restart are still queued after it."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)
DEFAULT_PORT = 56379  # NICHEFLOW_REDIS_PORT overrides it


class RedisError(RuntimeError):
    pass


def _binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if not found:
        raise RedisError(
            "redis-server not found: CeleryExecutor needs a broker. Install it with "
            "`./docker/install-system-deps.sh --celery` (make run EXECUTOR=celery does), or set "
            "AIRFLOW__CELERY__BROKER_URL to your own Redis."
        )
    return found


class Redis:
    """One redis-server process: start() waits until it answers PING, stop() shuts it down (it saves its
    append-only file as it goes)."""

    def __init__(self, folder: Path, port: int | None = None):
        self.folder = folder
        self.port = port or int(os.environ.get("NICHEFLOW_REDIS_PORT") or DEFAULT_PORT)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self, timeout: float = 20) -> None:
        if self._ping():
            log.info("redis already answering on 127.0.0.1:%s", self.port)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--appendonly", "yes", "--save", "", "--protected-mode", "yes"]
        logfile = open(self.folder / "redis.log", "ab")
        self.proc = subprocess.Popen(args, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                raise RedisError(f"redis-server exited with code {self.proc.returncode}:\n{tail}")
            if self._ping():
                log.info("redis on 127.0.0.1:%s (data in %s)", self.port, self.folder)
                return
            time.sleep(0.2)
        raise RedisError(f"redis-server did not answer on 127.0.0.1:{self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
