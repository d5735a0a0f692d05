"""The fields that tie a log line to its production: `channel`, `production_id` and `stage` (not
`correlation_id`: Airflow's Execution API already logs that name for its own requests).

Bound as structlog context variables, so inside an Airflow task every line after the binding carries them,
Airflow's own lines included (its task logger merges context variables into each JSON line); the CLI's lines
get them through `ContextFilter`. `read_production_logs` gathers one production's lines from the task log
files and the CLI's log, in time order (`nicheflow logs`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

FIELDS = ("channel", "production_id", "stage")


def bind(**fields: Any) -> None:
    """Add the given fields (None ones are left out) to every later line of this context (task, trigger)."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in fields.items() if v is not None})


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """The fields on every line logged inside the block, and as they were after it."""
    tokens = structlog.contextvars.bind_contextvars(**{k: v for k, v in fields.items() if v is not None})
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


class ContextFilter(logging.Filter):
    """Copies the bound fields onto stdlib log records (for handlers that do not go through structlog)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in structlog.contextvars.get_contextvars().items():
            if key in FIELDS:
                setattr(record, key, value)
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line, as Airflow's task logs: timestamp, level, event, logger and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        from datetime import UTC, datetime

        line = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        line.update({k: getattr(record, k) for k in FIELDS if hasattr(record, k)})
        return json.dumps(line, ensure_ascii=False, default=str)


def cli_log_file(data: Path) -> Path:
    return data / "logs" / "cli.jsonl"


@dataclass(frozen=True)
class Line:
    """A log line of a production, with where it was written."""

    timestamp: str
    source: str  # e.g. "script attempt 1", "review_script trigger", "cli"
    record: dict

    def text(self) -> str:
        r = self.record
        extra = f" [{r['stage']}]" if r.get("stage") else ""
        return f"{self.timestamp} {r.get('level', 'info'):<7} {self.source:<24}{extra} {r.get('event', '')}"


def _lines(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8", errors="replace") as f:
        for raw in f:
            raw = raw.strip()
            if raw.startswith("{"):
                try:
                    yield json.loads(raw)
                except ValueError:
                    continue


def _source(path: Path) -> str:
    """'<task> attempt N' or '<task> trigger' from Airflow's log path (task_id=X/attempt=N.log[.trigger.K.log])."""
    task = path.parent.name.removeprefix("task_id=")
    name = path.name
    attempt = name.removeprefix("attempt=").split(".")[0]
    return f"{task} trigger" if ".trigger." in name else f"{task} attempt {attempt}"


def _after(line: dict, since: datetime | None) -> bool:
    if since is None:
        return True
    try:
        return datetime.fromisoformat(str(line.get("timestamp", "")).replace("Z", "+00:00")) >= since
    except ValueError:
        return False


def read_production_logs(
    logs: Path,
    cli_log: Path,
    production_id: int,
    channel: str,
    dag_run_id: str,
    since: datetime | None = None,
) -> list[Line]:
    """Every line of one production, in time order: all of its long-form run's task logs (every task, every
    attempt, the triggerer's), the lines of Shorts runs and of the CLI that name it, from `since` (its
    creation: an id named before it, by a database since reset, is another production's). A line of the
    long-form run written before the task had bound its fields gets them here, from the file it is in."""
    out: list[Line] = []
    run_dir = logs / f"dag_id=longform_{channel}" / f"run_id={dag_run_id}"
    for path in sorted(run_dir.glob("task_id=*/attempt=*.log*")):
        stage = path.parent.name.removeprefix("task_id=")
        for rec in _lines(path):
            rec = {"channel": channel, "production_id": production_id, "stage": stage} | rec
            out.append(Line(rec.get("timestamp", ""), _source(path), rec))
    for path in sorted((logs / f"dag_id=shorts_{channel}").glob("run_id=*/task_id=*/attempt=*.log*")):
        for rec in _lines(path):
            if rec.get("production_id") == production_id and _after(rec, since):
                out.append(Line(rec.get("timestamp", ""), _source(path), rec))
    if cli_log.exists():
        for rec in _lines(cli_log):
            if (
                rec.get("production_id") == production_id
                and rec.get("channel") == channel
                and _after(rec, since)
            ):
                out.append(Line(rec.get("timestamp", ""), "cli", rec))
    out.sort(key=lambda line: line.timestamp)
    return out
