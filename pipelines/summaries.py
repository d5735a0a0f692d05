"""The info-level reports: a daily summary per channel at its configured local time (what was published,
what waits at which checkpoint, failures, the alerts of the day with their counts) and a weekly report.

Each is a `once` alert keyed on the channel's local date (`daily:2026-03-02`) or ISO week (`weekly:2026-W10`):
the ops DAG calls `due` every few minutes, and a report whose time has come is raised exactly once, also after
a scheduler restart or with several ops runs at once (a late ops run still sends the day's summary, once)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta
from datetime import time as TimeOfDay
from zoneinfo import ZoneInfo

from pipelines.alert_config import WEEKDAYS, Deployment, route
from pipelines.alerts import Alert, raise_alert, recent
from pipelines.config import ChannelConfig
from pipelines.db import Conn

DEFAULT_TIME = TimeOfDay(8, 0)  # the weekly report's time when the daily summary is off


def _exists(conn: Conn, channel: str, key: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM alerts WHERE once AND channel = %s AND key = %s", (channel, key)
        ).fetchone()
        is not None
    )


def _hours(td: timedelta) -> str:
    h = td.total_seconds() / 3600
    return f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} days"


def _published(conn: Conn, channel: str, since: datetime, until: datetime) -> list[dict]:
    return conn.execute(
        """SELECT id, topic FROM productions WHERE channel = %s AND status = 'published'
              AND updated_at >= %s AND updated_at < %s ORDER BY updated_at""",
        (channel, since, until),
    ).fetchall()


def _failures(conn: Conn, channel: str, since: datetime, until: datetime) -> list[dict]:
    return conn.execute(
        """SELECT production_id, task_id, category, error, cleared_at FROM attention
            WHERE channel = %s AND failed_at >= %s AND failed_at < %s ORDER BY failed_at""",
        (channel, since, until),
    ).fetchall()


def _alert_lines(rows: Iterable[dict]) -> list[str]:
    return [
        f"- {r['level']}: {r['title']}"
        + (f" (x{r['count']}, collapsed)" if r["count"] > 1 else "")
        + (" [not sent: below the channel's level]" if r["suppressed"] else "")
        for r in rows
    ]


def daily_text(conn: Conn, channel: str, since: datetime, until: datetime) -> str:
    """The summary of [since, until) and what stands at `until`."""
    lines: list[str] = []
    published = _published(conn, channel, since, until)
    lines.append(f"Published: {len(published)}")
    lines += [f"- production {p['id']}: {p['topic']}" for p in published]
    waiting = conn.execute(
        """SELECT c.stage, count(*) AS n, min(c.created_at) AS oldest,
                  count(*) FILTER (WHERE p.status = 'stalled') AS stalled
             FROM checkpoints c JOIN productions p ON p.id = c.production_id
            WHERE c.channel = %s AND c.status = 'pending' GROUP BY c.stage ORDER BY min(c.created_at)""",
        (channel,),
    ).fetchall()
    lines.append(f"Waiting for a decision: {sum(w['n'] for w in waiting)}")
    lines += [
        f"- {w['stage']}: {w['n']}, the oldest for {_hours(until - w['oldest'])}"
        + (f" ({w['stalled']} stalled)" if w["stalled"] else "")
        for w in waiting
    ]
    failures = _failures(conn, channel, since, until)
    open_marks = conn.execute(
        "SELECT count(*) AS n FROM attention WHERE channel = %s AND cleared_at IS NULL", (channel,)
    ).fetchone()
    lines.append(f"Failures: {len(failures)} (needs attention now: {open_marks['n'] if open_marks else 0})")
    lines += [
        f"- {f['task_id']} of production {f['production_id']} ({f['category']}): {f['error'][:160]}"
        + (" [cleared]" if f["cleared_at"] else "")
        for f in failures
    ]
    alerts = recent(conn, channel, since, until)
    lines.append(f"Alerts: {sum(a['count'] for a in alerts)} ({len(alerts)} after collapsing)")
    lines += _alert_lines(alerts)
    return "\n".join(lines)


def weekly_text(conn: Conn, channel: str, since: datetime, until: datetime) -> str:
    """The week [since, until): productions started, published, rejected; failures; checkpoint waits; alerts."""
    counts = (
        conn.execute(
            """SELECT count(*) FILTER (WHERE created_at >= %(s)s AND created_at < %(u)s) AS started,
                  count(*) FILTER (WHERE status = 'published' AND updated_at >= %(s)s AND updated_at < %(u)s) AS published,
                  count(*) FILTER (WHERE status = 'rejected' AND updated_at >= %(s)s AND updated_at < %(u)s) AS rejected
             FROM productions WHERE channel = %(c)s""",
            {"s": since, "u": until, "c": channel},
        ).fetchone()
        or {}
    )
    lines = [
        f"Productions: {counts.get('started', 0)} started, {counts.get('published', 0)} published, "
        f"{counts.get('rejected', 0)} rejected"
    ]
    waits = conn.execute(
        """SELECT stage, array_agg(extract(epoch FROM decided_at - created_at)) AS secs FROM checkpoints
            WHERE channel = %s AND decided_at >= %s AND decided_at < %s GROUP BY stage ORDER BY stage""",
        (channel, since, until),
    ).fetchall()
    lines.append(
        "Checkpoint waits (median): "
        + (
            ", ".join(
                f"{w['stage']} {_hours(timedelta(seconds=statistics.median(float(s) for s in w['secs'])))}"
                for w in waits
            )
            or "none decided"
        )
    )
    failures = _failures(conn, channel, since, until)
    by_kind: dict[str, int] = {}
    for f in failures:
        by_kind[f["category"]] = by_kind.get(f["category"], 0) + 1
    lines.append(
        f"Failures: {len(failures)}"
        + (f" ({', '.join(f'{k} {n}' for k, n in sorted(by_kind.items()))})" if by_kind else "")
    )
    alerts = recent(conn, channel, since, until)
    per_level = {lvl: sum(a["count"] for a in alerts if a["level"] == lvl) for lvl in ("critical", "warning")}
    lines.append(f"Alerts: {per_level['critical']} critical, {per_level['warning']} warning")
    lines += _alert_lines(alerts)
    return "\n".join(lines)


def due(conn: Conn, configs: Iterable[ChannelConfig], dep: Deployment, now: datetime) -> list[int]:
    """Raise every summary and weekly report whose local time has come and that was not raised yet; returns
    the alert ids raised."""
    out = []
    for cfg in configs:
        r = route(dep, cfg.alerts)
        zone = ZoneInfo(cfg.timezone)
        local = now.astimezone(zone)
        if r.summary_time is not None and local.time() >= r.summary_time:
            key = f"daily:{local.date().isoformat()}"
            if not _exists(conn, cfg.channel, key):
                since = datetime.combine(local.date() - timedelta(days=1), r.summary_time, zone)
                text = daily_text(conn, cfg.channel, since, now)
                title = f"daily summary {local.date().isoformat()} ({cfg.title})"
                out.append(
                    raise_alert(conn, Alert("info", key, title, text, cfg.channel, once=True), now=now)
                )
        at = r.summary_time or DEFAULT_TIME
        if r.weekly_report and WEEKDAYS[local.weekday()] == r.weekly_report and local.time() >= at:
            year, week, _ = local.isocalendar()
            key = f"weekly:{year}-W{week:02d}"
            if not _exists(conn, cfg.channel, key):
                text = weekly_text(conn, cfg.channel, now - timedelta(days=7), now)
                title = f"weekly report {year}-W{week:02d} ({cfg.title})"
                out.append(
                    raise_alert(conn, Alert("info", key, title, text, cfg.channel, once=True), now=now)
                )
    return out
