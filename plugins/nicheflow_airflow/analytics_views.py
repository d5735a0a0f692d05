"""What the Analytics pages show, read from the project's PostgreSQL (schema v11, sql/011_analytics.sql):

    channel_view  a channel's published videos (long-form and Shorts) with their figures summed from
                  video_daily, the latest near-real-time count (video_counts) of videos younger than three
                  days, views per day as a chart, and the outcome of the channel's last analytics pull
    video_view    one video: its figures, views per day, its audience retention curve (video_retention)
                  with the script's segment boundaries drawn on it and where viewers left (pipelines.retention),
                  and what its production cost (pipelines.costs)

Plain functions of a connection (no Airflow, no request): the routes in analytics_pages check who may see
the channel first. Module level stays light: Airflow imports every file of the plugins folder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from nicheflow_airflow import charts

if TYPE_CHECKING:
    from pipelines.db import Conn

YOUNG = timedelta(days=3)  # younger than this, a video's Analytics rows have not arrived yet (48-72 h late)
KINDS = {"longform": "long-form", "short": "Shorts"}

_VIDEOS = """
SELECT u.item, u.kind, u.video_id, u.production_id, u.state, u.publish_at, u.privacy,
       coalesce(u.publish_at, u.updated_at) AS published_at,
       coalesce(u.details->>'title',
                p.topic || CASE WHEN u.kind = 'short' THEN ' (Short ' || split_part(u.item, '-short-', 2) || ')'
                                ELSE '' END) AS title,
       (u.details->>'duration')::float AS duration,
       d.days, d.first_day, d.last_day, coalesce(d.views, 0) AS views, coalesce(d.engaged_views, 0) AS engaged_views,
       coalesce(d.minutes, 0) AS minutes_watched, d.avg_duration, d.avg_percentage,
       coalesce(d.likes, 0) AS likes, coalesce(d.subscribers, 0) AS subscribers_gained,
       c.at AS count_at, c.views AS count_views, c.likes AS count_likes, c.comments AS count_comments,
       (SELECT count(*) FROM video_retention r WHERE r.channel = u.channel AND r.video_id = u.video_id)
           AS retention_points
  FROM youtube_uploads u
  JOIN productions p ON p.id = u.production_id
  LEFT JOIN LATERAL (
       SELECT count(*) AS days, min(day) AS first_day, max(day) AS last_day, sum(views) AS views,
              sum(engaged_views) AS engaged_views, sum(estimated_minutes_watched) AS minutes,
              -- averages of the days, weighted by their views (a day without views counts when all are)
              coalesce(sum(average_view_duration * views) / nullif(sum(views), 0), avg(average_view_duration))
                  AS avg_duration,
              coalesce(sum(average_view_percentage * views) / nullif(sum(views), 0),
                       avg(average_view_percentage)) AS avg_percentage,
              sum(likes) AS likes, sum(subscribers_gained) AS subscribers
         FROM video_daily v WHERE v.channel = u.channel AND v.video_id = u.video_id
       HAVING count(*) > 0) d ON true
  LEFT JOIN LATERAL (
       SELECT at, views, likes, comments FROM video_counts n
        WHERE n.channel = u.channel AND n.video_id = u.video_id ORDER BY at DESC LIMIT 1) c ON true
 WHERE u.channel = %s AND u.video_id IS NOT NULL {where}
 ORDER BY coalesce(u.publish_at, u.updated_at) DESC, u.item"""


def _video(row: dict, now: datetime) -> dict:
    v = dict(row)
    published = v["published_at"]
    v["scheduled"] = v["publish_at"] is not None and v["publish_at"] > now
    v["young"] = published is not None and now - published < YOUNG
    v["near_real_time"] = (
        {
            "at": v["count_at"],
            "views": v["count_views"],
            "likes": v["count_likes"],
            "comments": v["count_comments"],
        }
        if v["young"] and v["count_at"] is not None
        else None
    )
    v["kind_label"] = KINDS.get(v["kind"], v["kind"])
    v["url"] = f"https://youtu.be/{v['video_id']}"
    return v


def last_pull(conn: Conn, channel: str) -> dict | None:
    """The channel's latest analytics pull: at, outcome (ok, skipped, failed), videos, message."""
    return conn.execute(
        "SELECT at, outcome, videos, message FROM analytics_pulls WHERE channel = %s ORDER BY at DESC, id DESC"
        " LIMIT 1",
        (channel,),
    ).fetchone()


def daily_views(conn: Conn, channel: str, video_id: str | None = None) -> dict[str, dict[date, int]]:
    """Views per day by kind of video (long-form, Shorts), or of one video, from video_daily."""
    rows = conn.execute(
        "SELECT v.day, coalesce(u.kind, 'other') AS kind, sum(v.views) AS views FROM video_daily v"
        " LEFT JOIN youtube_uploads u ON u.channel = v.channel AND u.video_id = v.video_id"
        " WHERE v.channel = %s AND (%s::text IS NULL OR v.video_id = %s) GROUP BY v.day, kind ORDER BY v.day",
        (channel, video_id, video_id),
    )
    out: dict[str, dict[date, int]] = {}
    for r in rows:
        out.setdefault(r["kind"], {})[r["day"]] = int(r["views"])
    return out


def _views_chart(per_kind: dict[str, dict[date, int]], title: str) -> str | None:
    days = sorted({d for series in per_kind.values() for d in series})
    if not days:
        return None
    span = [days[0] + timedelta(n) for n in range((days[-1] - days[0]).days + 1)]  # a missing day is 0
    series = [
        charts.Series(KINDS.get(kind, kind), [(d, per_kind[kind].get(d, 0)) for d in span])
        for kind in (*KINDS, *(k for k in per_kind if k not in KINDS))
        if kind in per_kind
    ]
    names = " and ".join(s.name for s in series)
    return charts.line_chart(
        series,
        title=title,
        desc=f"Views per day of {names}, {span[0]:%b %d %Y} to {span[-1]:%b %d %Y}; "
        f"{sum(sum(s.values()) for s in per_kind.values()):,} views in all.",
        y_label="views",
    )


def channel_view(
    conn: Conn, channel: str, provider: str, now: datetime | None = None, timezone: str = "UTC"
) -> dict:
    """Everything the channel's Analytics page shows. `provider` is the channel's publish provider: an
    outbox channel has no analytics, and the page says so. Costs per month are in the channel's zone."""
    from pipelines import costs

    now = now or datetime.now(UTC)
    videos = [_video(r, now) for r in conn.execute(_VIDEOS.format(where=""), (channel,))]
    per_kind = daily_views(conn, channel)
    totals = {
        k: sum(v[k] for v in videos)
        for k in ("views", "engaged_views", "minutes_watched", "likes", "subscribers_gained")
    }
    has_data = bool(per_kind) or any(v["near_real_time"] for v in videos)
    return {
        "channel": channel,
        "provider": provider,
        "videos": videos,
        "totals": totals,
        "has_data": has_data,
        "last_pull": last_pull(conn, channel),
        "chart": _views_chart(per_kind, f"Views per day, {channel}"),
        "costs": costs.monthly(conn, channel, timezone),
        "as_of": now,
    }


def video_view(
    conn: Conn,
    channel: str,
    video_id: str,
    boundaries: Sequence[tuple[float, str]] | None = None,
    now: datetime | None = None,
) -> dict | None:
    """One video's page: its figures, its days, views per day, and its retention curve with `boundaries`
    (seconds from the start, label) drawn on it; None when the channel has no such video."""
    now = now or datetime.now(UTC)
    row = conn.execute(_VIDEOS.format(where="AND u.video_id = %s"), (channel, video_id)).fetchone()
    if row is None:
        return None
    video = _video(row, now)
    days = conn.execute(
        "SELECT day, views, engaged_views, estimated_minutes_watched, average_view_duration,"
        " average_view_percentage, likes, subscribers_gained FROM video_daily"
        " WHERE channel = %s AND video_id = %s ORDER BY day DESC",
        (channel, video_id),
    ).fetchall()
    retention = conn.execute(
        "SELECT elapsed_ratio, audience_watch_ratio, relative_retention, fetched_at FROM video_retention"
        " WHERE channel = %s AND video_id = %s ORDER BY elapsed_ratio",
        (channel, video_id),
    ).fetchall()
    traffic = conn.execute(
        "SELECT source, views FROM video_traffic WHERE channel = %s AND video_id = %s ORDER BY views DESC, source",
        (channel, video_id),
    ).fetchall()
    counts = conn.execute(
        "SELECT at, views, likes, comments FROM video_counts WHERE channel = %s AND video_id = %s"
        " ORDER BY at DESC LIMIT 20",
        (channel, video_id),
    ).fetchall()
    where_left: list[str] = []
    if boundaries is None:
        boundaries, where_left = _on_the_script(conn, video["production_id"], video_id)
    marks = list(boundaries)
    curve = None
    if retention:
        end = retention[-1]["audience_watch_ratio"]
        curve = charts.retention_chart(
            [(r["elapsed_ratio"], r["audience_watch_ratio"]) for r in retention],
            duration=video["duration"],
            boundaries=marks,
            title=f"Audience retention: {video['title']}",
            desc=f"Share of viewers still watching over the video's time; {end * 100:.0f}% at the end."
            + (f" Markers at {len(marks)} segment boundaries." if marks and video["duration"] else ""),
        )
    return {
        "channel": channel,
        "video": video,
        "days": days,
        "traffic": traffic,
        "counts": counts,
        "retention": retention,
        "retention_chart": curve,
        "boundaries": marks,
        "where_left": where_left,
        "chart": _views_chart(daily_views(conn, channel, video_id), f"Views per day: {video['title']}"),
        "costs": _costs(conn, video["production_id"]),
        "as_of": now,
    }


def _on_the_script(
    conn: Conn, production_id: int, video_id: str
) -> tuple[list[tuple[float, str]], list[str]]:
    """The video's segment boundaries (seconds, label) and the sentences saying where viewers left, from its
    production's script and timings; none when those files are gone (the figures still show)."""
    import logging

    from pipelines import retention
    from pipelines.checkpoints import CheckpointError

    try:
        marks = retention.segment_boundaries(conn, production_id, video_id)
        rmap = retention.segment_retention(conn, production_id, video_id)
    except (LookupError, OSError, ValueError, CheckpointError) as e:
        logging.getLogger(__name__).warning("video %s: no segment map (%s)", video_id, e)
        return [], []
    return marks, rmap.summary() if rmap else []


def _costs(conn: Conn, production_id: int) -> dict | None:
    from pipelines import costs

    summary = costs.of_production(conn, production_id)
    return summary.dump() if summary.lines else None
