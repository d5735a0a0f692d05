"""How long each external call took, and how it ended: the one helper the providers time their calls with.

A provider wraps each request to a service (one HTTP request of `providers.http.send`, one Groq completion,
one Azure synthesis, one Google API request) in `timed(provider, operation)`. The observation is kept in
this process's buffer, with the channel, production and stage bound to the task's log lines
(pipelines.logfields), and never touches the database: providers open no connections. `flush()` writes
what the buffer holds to `api_calls` in one INSERT, on a connection of its own (committed even when the
stage's transaction rolls back: a failed call is worth as much as a good one). It is called when a
production's connection closes (`production.production_db`) and when a task's stage returns
(nicheflow_airflow.tasks.run_stage); a figure that cannot be written is logged, never a reason to stop a
video.

Outcomes: `ok`, `http_<status>` (the service answered with an error), `canceled_<reason>` (Azure), `timeout`,
`unreachable` (no answer: connection refused, DNS, reset), `error` (anything else the call raised). Provider
labels are the services' names in lower case: groq, azure, pexels, pixabay, commons, wikipedia, brave,
youtube."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from pipelines.db import Conn

log = logging.getLogger(__name__)

PROVIDERS = ("groq", "azure", "pexels", "pixabay", "commons", "wikipedia", "brave", "youtube")
_LABELS = {"web search": "brave", "youtube analytics": "youtube"}
MAX_BUFFERED = 10_000  # a process that never flushes keeps the latest ones only


def label(provider: str) -> str:
    """The provider's label in the metrics: 'YouTube Analytics' -> 'youtube', 'web search' -> 'brave'."""
    name = provider.strip().lower()
    return _LABELS.get(name, name)


@dataclass(frozen=True)
class Observation:
    """One call to an external service."""

    provider: str
    operation: str
    seconds: float
    outcome: str
    at: datetime
    channel: str | None = None
    production_id: int | None = None
    stage: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass
class _Buffer:
    items: list[Observation] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_buffer = _Buffer()


def observe(provider: str, operation: str, seconds: float, outcome: str = "ok") -> None:
    """Keep one observation (the bound channel, production and stage go with it)."""
    ctx = structlog.contextvars.get_contextvars()
    pid = ctx.get("production_id")
    obs = Observation(
        label(provider),
        operation,
        max(0.0, float(seconds)),
        outcome,
        datetime.now(UTC),
        ctx.get("channel"),
        int(pid) if isinstance(pid, int | str) and str(pid).isdigit() else None,
        ctx.get("stage"),
    )
    with _buffer.lock:
        _buffer.items.append(obs)
        if len(_buffer.items) > MAX_BUFFERED:
            del _buffer.items[: len(_buffer.items) - MAX_BUFFERED]


def outcome_of(e: BaseException) -> str:
    """The outcome of a call that raised `e`: `http_<status>` when it carries one (httpx, the SDKs' status
    errors, google's HttpError), `timeout`, `unreachable` or `error`."""
    status = getattr(e, "status_code", None) or getattr(getattr(e, "resp", None), "status", None)
    if status is None:
        status = getattr(getattr(e, "response", None), "status_code", None)
    if isinstance(status, int | str) and str(status).isdigit():
        return f"http_{int(status)}"
    name = type(e).__name__.lower()
    if "timeout" in name:
        return "timeout"
    if isinstance(e, OSError | ConnectionError) or "connect" in name or "transport" in name:
        return "unreachable"
    return "error"


class Call:
    """What `timed` yields: set `outcome` when the call returned but failed (an HTTP error response, an
    SDK result that says canceled)."""

    def __init__(self) -> None:
        self.outcome = "ok"


@contextmanager
def timed(provider: str, operation: str) -> Iterator[Call]:
    """Time the block as one call of `provider`; an exception raised in it is the call's outcome (and is
    raised on)."""
    call = Call()
    start = time.perf_counter()
    try:
        yield call
    except BaseException as e:
        call.outcome = outcome_of(e)
        raise
    finally:
        observe(provider, operation, time.perf_counter() - start, call.outcome)


def pending() -> list[Observation]:
    """What the buffer holds (not yet written)."""
    with _buffer.lock:
        return list(_buffer.items)


def _take() -> list[Observation]:
    with _buffer.lock:
        items, _buffer.items = _buffer.items, []
    return items


def _insert(conn: Conn, items: list[Observation]) -> None:
    cols: dict[str, list[Any]] = {
        k: [getattr(o, k) for o in items]
        for k in (
            "provider",
            "operation",
            "seconds",
            "outcome",
            "ok",
            "channel",
            "production_id",
            "stage",
            "at",
        )
    }
    conn.execute(
        """INSERT INTO nicheflow.api_calls
               (provider, operation, seconds, outcome, ok, channel, production_id, stage, at)
           SELECT * FROM unnest(%s::text[], %s::text[], %s::float8[], %s::text[], %s::bool[], %s::text[],
                                %s::bigint[], %s::text[], %s::timestamptz[])""",
        list(cols.values()),
    )


def flush(conn: Conn | None = None) -> int:
    """Write the buffered observations in one INSERT (on `conn`, else on a connection of its own, committed
    at once) and empty the buffer. Returns how many were written; 0 when the database refused (logged)."""
    items = _take()
    if not items:
        return 0
    try:
        if conn is not None:
            _insert(conn, items)
        else:
            from pipelines.db import connect

            with connect() as own:
                _insert(own, items)
    except Exception as e:  # a figure is never a reason to stop a video
        log.warning("%d API call timings not recorded: %s", len(items), e)
        return 0
    return len(items)
