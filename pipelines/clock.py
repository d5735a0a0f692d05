"""The time the project acts on: the quota ledger's Pacific-time day, publish slots, waits for quota.

`now()` is the system clock, optionally shifted by the number of seconds in the file named by
NICHEFLOW_CLOCK_SHIFT_FILE. The shift exists for tests (a quota reset at midnight Pacific is reached by
shifting the clock, not by waiting a day); it is read on every call, so a running stack follows a change at
once. Without the variable it costs nothing and shifts nothing."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path


def shift() -> timedelta:
    """The injected shift (zero unless NICHEFLOW_CLOCK_SHIFT_FILE names a file holding seconds)."""
    name = os.environ.get("NICHEFLOW_CLOCK_SHIFT_FILE")
    if not name:
        return timedelta(0)
    try:
        return timedelta(seconds=float(Path(name).read_text().strip() or 0))
    except FileNotFoundError:
        return timedelta(0)


def now() -> datetime:
    """The current time, aware (UTC), with the injected shift."""
    return datetime.now(UTC) + shift()
