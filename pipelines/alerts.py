"""Alerts: raised by whatever notices something (a failed task's callback, the ops DAG's checks), recorded in
PostgreSQL (table `alerts`, sql/014_alerts.sql) and sent by `dispatch` through the deployment's notifiers
(plugins/nicheflow_airflow/notifiers.py: e-mail and a Slack-compatible webhook). No Airflow here.

Never a storm: an alert raised again while the same key's last occurrence in the channel is younger than the
collapse window (10 minutes by default, NICHEFLOW_ALERT_COLLAPSE_MINUTES) is counted on the same row. The
first message goes out once; occurrences after it are told in one digest ("4 more times") when a window has
passed since the last message, and so on while they keep coming: at most one message per key and channel per
window. A key raised after a quiet window starts a new row, sent again.

Levels: critical (a provider down after its retries, an upload failed, a token revoked, a channel paused),
warning (a slow render, quality flags, a stalled checkpoint), info (the daily summary, the weekly report)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipelines import clock
from pipelines.alert_config import AlertConfigError, Destination, Level, Route, deployment, route
from pipelines.db import Conn, one

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # delivery rounds of one message before it is given up (the row keeps the error)


@dataclass(frozen=True)
class Alert:
    """Something an operator should hear about. `key` identifies the kind within the channel (the same key
    again is the same alert, collapsed); `once`: raised at most once ever per (channel, key)."""

    level: Level
    key: str
    title: str
    body: str
    channel: str
    production_id: int | None = None
    once: bool = False


@dataclass(frozen=True)
class Message:
    """What one delivery says: the alert's subject line and text, and whether it is a digest of repeats."""

    alert_id: int
    level: Level
    channel: str
    production_id: int | None
    subject: str
    text: str
    digest: bool
    count: int  # occurrences in all on the row


Deliver = Callable[[Message, Destination], None]


def collapse_window() -> timedelta:
    """The deployment's collapse window (10 minutes when its setting is unusable; dispatch reports that)."""
    try:
        return timedelta(minutes=deployment().collapse_minutes)
    except AlertConfigError:
        return timedelta(minutes=10)


def raise_alert(
    conn: Conn, alert: Alert, *, now: datetime | None = None, window: timedelta | None = None
) -> int:
    """Record `alert`; returns its row's id (the existing row when it is collapsed onto one). Commits, so the
    record outlives whatever failure raised it."""
    now = now or clock.now()
    window = window or collapse_window()
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"alert:{alert.channel}:{alert.key}",))
    values = {
        "channel": alert.channel,
        "production_id": alert.production_id,
        "level": alert.level,
        "key": alert.key,
        "title": alert.title[:500],
        "body": alert.body[:8000],
        "once": alert.once,
        "now": now,
        "window": max(1, int(window.total_seconds())),
    }
    insert = """INSERT INTO alerts (channel, production_id, level, key, title, body, once, first_at, last_at,
                                    window_seconds)
                VALUES (%(channel)s, %(production_id)s, %(level)s, %(key)s, %(title)s, %(body)s, %(once)s,
                        %(now)s, %(now)s, %(window)s)"""
    if alert.once:
        row = conn.execute(
            insert + " ON CONFLICT (channel, key) WHERE once DO NOTHING RETURNING id", values
        ).fetchone()
        if row is None:
            row = one(
                conn.execute(
                    "SELECT id FROM alerts WHERE once AND channel = %s AND key = %s",
                    (alert.channel, alert.key),
                )
            )
    else:
        row = conn.execute(
            """UPDATE alerts SET count = count + 1, last_at = %(now)s, body = %(body)s
                WHERE id = (SELECT id FROM alerts WHERE channel = %(channel)s AND key = %(key)s AND NOT once
                               AND last_at >= %(now)s - make_interval(secs => window_seconds)
                             ORDER BY last_at DESC LIMIT 1)
            RETURNING id""",
            values,
        ).fetchone() or one(conn.execute(insert + " RETURNING id", values))
    conn.commit()
    log.info("alert %s %s (%s): %s", alert.level, alert.key, alert.channel, alert.title)
    return int(row["id"])


def _when(t: datetime) -> str:
    return (
        t.strftime("%Y-%m-%d %H:%M UTC") if t.utcoffset() == timedelta(0) else t.isoformat(timespec="minutes")
    )


def message(row: dict) -> Message:
    """The message that tells the row's untold occurrences: the first message, or a digest of repeats."""
    from datetime import UTC

    digest = row["notified_count"] > 0
    more = row["count"] - row["notified_count"]
    head = f"[{row['level'].upper()}] {row['channel']}: {row['title']}"
    where = f"Production {row['production_id']}. " if row["production_id"] else ""
    first, last = row["first_at"].astimezone(UTC), row["last_at"].astimezone(UTC)
    if digest:
        subject = f"{head} ({more} more time{'s' if more > 1 else ''})"
        text = (
            f"{where}This happened {more} more time{'s' if more > 1 else ''} since the last message "
            f"({row['count']} in all since {_when(first)}; the latest at {_when(last)}).\n\n{row['body']}"
        )
    else:
        subject = head if row["count"] == 1 else f"{head} ({row['count']} times)"
        text = f"{where}{row['body']}".strip()
        if row["count"] > 1:
            text += f"\n\n(Collapsed: {row['count']} identical alerts from {_when(first)} to {_when(last)}.)"
    return Message(
        row["id"], row["level"], row["channel"], row["production_id"], subject, text, digest, row["count"]
    )


def _scrub(e: BaseException) -> str:
    """A delivery error as it may be stored and logged: URLs (a webhook's carries its token) removed."""
    return re.sub(r"[a-z][a-z0-9+.-]*://\S+", "<url>", f"{type(e).__name__}: {e}")[:500]


def _route_of(channel: str) -> Route:
    from pipelines.config import ConfigError, get_config

    try:
        overrides = get_config(channel).alerts
    except ConfigError:
        overrides = None  # a channel whose YAML is broken (or gone) still gets the deployment's alerts
    return route(deployment(), overrides)


def due(conn: Conn, now: datetime) -> list[int]:
    """Rows with something untold whose time has come: never told, or told a window ago and repeated since."""
    rows = conn.execute(
        """SELECT id FROM alerts WHERE notified_count < count AND NOT suppressed
              AND (notified_at IS NULL OR notified_at <= %s - make_interval(secs => window_seconds))
            ORDER BY id""",
        (now,),
    ).fetchall()
    return [r["id"] for r in rows]


def dispatch(
    conn: Conn,
    deliver: Deliver,
    *,
    now: datetime | None = None,
    routes: Callable[[str], Route] | None = None,
    only: list[int] | None = None,
) -> list[Message]:
    """Send every due alert through `deliver`, each destination once; returns what was sent (fully). Safe to
    run in several processes at once: a row being sent is locked, the others skip it. A destination that
    fails is tried again at the next dispatch (the others are not sent twice), up to MAX_ATTEMPTS rounds.
    `only`: just these rows (a failure callback sends its own at once)."""
    now = now or clock.now()
    routes = routes or _route_of
    conn.commit()
    cache: dict[str, Route] = {}
    sent: list[Message] = []
    for alert_id in due(conn, now):
        if only is not None and alert_id not in only:
            continue
        with conn.transaction():
            row = conn.execute(
                "SELECT * FROM alerts WHERE id = %s AND notified_count < count FOR UPDATE SKIP LOCKED",
                (alert_id,),
            ).fetchone()
            if row is None:
                continue  # another dispatcher has it, or sent it meanwhile
            if row["channel"] not in cache:
                cache[row["channel"]] = routes(row["channel"])
            r = cache[row["channel"]]
            if not r.wants(row["level"]):
                conn.execute("UPDATE alerts SET suppressed = true WHERE id = %s", (alert_id,))
                continue
            if _send_row(conn, row, r, deliver, now):
                sent.append(message(row))
    return sent


def _send_row(conn: Conn, row: dict, r: Route, deliver: Deliver, now: datetime) -> bool:
    msg = message(row)
    phase = row["notified_count"]
    done = {
        d["destination"]
        for d in conn.execute(
            "SELECT destination FROM alert_deliveries WHERE alert_id = %s AND upto = %s", (row["id"], phase)
        )
    }
    errors = []
    for dest in r.destinations:
        if dest.name in done:
            continue
        try:
            deliver(msg, dest)
        except Exception as e:  # one destination down never blocks the others
            errors.append(f"{dest.name}: {_scrub(e)}")
            continue
        conn.execute(
            "INSERT INTO alert_deliveries (channel, alert_id, upto, destination, sent_at) VALUES (%s, %s, %s, %s, %s)",
            (row["channel"], row["id"], phase, dest.name, now),
        )
    if not errors:
        conn.execute(
            "UPDATE alerts SET notified_count = %s, notified_at = %s, attempts = 0, last_error = NULL WHERE id = %s",
            (row["count"], now, row["id"]),
        )
        log.info("alert %s sent: %s", row["id"], msg.subject)
        return True
    error = "; ".join(errors)
    gave_up = row["attempts"] + 1 >= MAX_ATTEMPTS
    log.error("alert %s could not be sent%s: %s", row["id"], " (given up)" if gave_up else "", error)
    conn.execute(
        """UPDATE alerts SET attempts = attempts + 1, last_error = %s,
                  notified_count = CASE WHEN %s THEN count ELSE notified_count END,
                  notified_at = CASE WHEN %s THEN %s ELSE notified_at END
            WHERE id = %s""",
        (error, gave_up, gave_up, now, row["id"]),
    )
    return False


def recent(conn: Conn, channel: str, since: datetime, until: datetime) -> list[dict]:
    """The channel's alerts that occurred in [since, until), with their counts, most severe first (for the
    summaries); the summaries themselves are left out."""
    return conn.execute(
        """SELECT level, key, title, count, first_at, last_at, suppressed FROM alerts
            WHERE channel = %s AND last_at >= %s AND first_at < %s AND level <> 'info'
            ORDER BY CASE level WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, first_at""",
        (channel, since, until),
    ).fetchall()
