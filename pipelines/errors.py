"""One error root for the project, with two branches that say whether retrying can help.

Every error the project raises on purpose is a `NicheflowError` whose message says what to do. It is one
of two kinds:

- `PermanentError`: retrying cannot help; a person has to change something first (a config field, a
  key, the topic, a source document). The DAG fails such a task at once, without retries.
- `TransientError`: worth retrying; the same call may work in a minute (a timeout, a 5xx, a rate limit,
  a service that cannot be reached). The DAG retries it with backoff.

A module may keep its own base class (`ProviderError`, `LLMError`, `TTSUnavailable`) so callers can
catch "this provider failed" in one clause; it then raises one subclass per branch. Anything that is not
a `PermanentError` (a bug, an unbranched error) is retried: a wrong retry costs minutes, a missed one a
production. Classes that were ValueError/RuntimeError keep that base too, so old `except` clauses hold."""

from __future__ import annotations

from datetime import datetime


class NicheflowError(Exception):
    """Root of every error the project raises on purpose; the message says what to do about it."""


class PermanentError(NicheflowError):
    """Retrying cannot help: bad config, a rejected or missing key, a repeated topic, no facts on the topic,
    a request the service refuses. Fix what the message names, then run the task again."""


class TransientError(NicheflowError):
    """Worth retrying: a timeout, a 5xx, a rate limit, a service that cannot be reached right now."""


class NoFacts(PermanentError, ValueError):
    """The channel's knowledge base and its sources have nothing on the topic: add a source document
    or choose another topic."""


def is_permanent(exc: BaseException) -> bool:
    """True when retrying cannot help: `exc` is a PermanentError, or was raised (`raise ... from e`) from
    one. A TransientError, or any other exception, is worth retrying."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, NicheflowError):
            return isinstance(current, PermanentError)
        seen.add(id(current))
        current = current.__cause__
    return False


class WaitUntil(NicheflowError):
    """Not an error to retry with backoff: the work can only go on at `until` (e.g. when YouTube's daily
    quota is back). The task waits deferred, holding no worker slot, and then runs again."""

    def __init__(self, message: str, until: datetime):
        self.until = until
        super().__init__(f"{message}; trying again at {until.isoformat(timespec='minutes')}")


class DiskFull(TransientError, OSError):
    """No space left on the disk a stage was writing to. Worth retrying: nothing about the inputs is wrong,
    and the same work succeeds once there is room (what was written before stays as it was)."""


def disk_full(path: object, detail: str = "") -> DiskFull:
    """The DiskFull for a write to `path` that found no space: says which disk, how full, and what to do
    (`detail`, e.g. what the program writing it printed, follows on its own lines)."""
    import re
    import shutil
    from pathlib import Path

    name = re.sub(r"^\.(.+)\.[0-9a-f]{12}\.tmp$", r"\1", Path(str(path)).name)  # pipelines.files' temp name
    folder = Path(str(path)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        usage = shutil.disk_usage(folder)
        room = f"{usage.free / 1e6:.1f} MB free of {usage.total / 1e6:.1f} MB"
    except OSError:
        room = "its size unknown"
    return DiskFull(
        f"the disk holding {folder} is full ({room}) while writing {name}: free space on it "
        "(or move NICHEFLOW_DATA_DIR / NICHEFLOW_STORAGE_URL to a larger disk); the task is retried and goes "
        "on once there is room, the files already written are kept" + (f"\n{detail}" if detail else "")
    )
