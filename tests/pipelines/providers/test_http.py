"""The shared HTTP helpers of the providers: Retry-After in seconds or as an HTTP date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from pipelines.providers.http import (
    RetryPolicy,
    parse_retry_after,
)
from pipelines.providers.research.wikipedia import _fair_shares


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None) is None
    policy = RetryPolicy(backoff=1, backoff_max=4)
    delays = [policy.backoff_delay(a) for a in (1, 2, 3, 4, 5)]
    assert (
        0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2 and 2 <= delays[2] <= 4 and all(d <= 4 for d in delays)
    )
    assert _fair_shares([30, 4, 10], 12) == [4, 4, 4] and _fair_shares([30, 2], 12) == [10, 2]
