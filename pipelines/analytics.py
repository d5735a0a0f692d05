"""The daily analytics pull of one channel: how each of its published videos does, from its analytics provider
(YouTube Analytics, pipelines.providers.analytics), into the channel's tables (sql/011_analytics.sql).

Which videos: the channel's items on YouTube (youtube_uploads) that have a video id and whose publish time
has come. Which days: incremental. A video's first pull asks from its publish day; later pulls from its last
stored day minus REVISE_DAYS, because YouTube revises its recent days (and its data is 48-72 hours late),
up to today (Pacific: the Analytics API's days). Each day is upserted into video_daily, so a re-pull replaces
a day instead of adding it twice. The retention curve (video_retention) and a long-form video's views by
traffic source (video_traffic) are replaced whole when the provider has them (an empty answer keeps what was
stored). Videos younger than FRESH get near-real-time totals (video_counts, one row per pull) from the Data
API's videos.list, as the daily report does not have them yet.

Every pull ends with one row in analytics_pulls: ok; skipped (the token is revoked, the analytics answer
403, the channel is not connected, the quota is spent: retrying today cannot help, a person or tomorrow
can), with the message saying what to do; or failed (anything else: the error is raised, for the task to
retry). Each video's rows are committed on their own, so a failure keeps the videos done before it.

The pull runs on a connection entered into the channel (pipelines.production.channel_db): PostgreSQL then
refuses any row of another channel. The quota ledger is written through its own connection, across
channels (pipelines.quota)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pipelines import clock, quota
from pipelines.config import get_config, load_all
from pipelines.db import Conn, one
from pipelines.providers.analytics.base import (
    AnalyticsProvider,
    AnalyticsRefused,
    DailyRow,
    RetentionPoint,
    TrafficRow,
    VideoCounts,
)
from pipelines.providers.google import NotConnected, QuotaExhausted, TokenRevoked, WrongChannel

log = logging.getLogger(__name__)

REVISE_DAYS = 3  # days before the last stored one that are asked again (YouTube revises recent days)
FRESH = timedelta(days=3)  # videos younger than this also get videos.list counts
SKIPPED = (TokenRevoked, AnalyticsRefused, NotConnected, WrongChannel, QuotaExhausted)


@dataclass(frozen=True)
class ChannelVideo:
    """One of the channel's videos on YouTube (a long-form video or a Short)."""

    item: str
    kind: str  # longform | short
    video_id: str
    production_id: int
    published_at: datetime  # its publish time (scheduled), or when its upload started


@dataclass(frozen=True)
class PullResult:
    """What one pull of a channel did (also its analytics_pulls row)."""

    channel: str
    outcome: str  # ok | skipped | failed
    videos: int
    message: str
    daily_rows: int = 0
    retention_curves: int = 0
    counted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "outcome": self.outcome,
            "videos": self.videos,
            "message": self.message,
            "daily_rows": self.daily_rows,
            "retention_curves": self.retention_curves,
            "counted": self.counted,
        }


def youtube_channels() -> list[str]:
    """The channels whose publish provider is youtube (those with analytics to pull), sorted."""
    return sorted(c.channel for c in load_all().configs.values() if c.publish.provider == "youtube")


def published_videos(conn: Conn, channel: str, now: datetime | None = None) -> list[ChannelVideo]:
    """The channel's videos with a video id whose publish time has come, oldest first."""
    rows = conn.execute(
        "SELECT item, kind, video_id, production_id, coalesce(publish_at, created_at) AS published_at"
        " FROM youtube_uploads WHERE channel = %s AND video_id IS NOT NULL"
        " AND coalesce(publish_at, created_at) <= %s ORDER BY published_at, item",
        (channel, now or clock.now()),
    ).fetchall()
    return [ChannelVideo(**r) for r in rows]


def days_to_pull(conn: Conn, channel: str, video: ChannelVideo, today: date) -> tuple[date, date] | None:
    """(start, end) of the days to ask for: from the publish day on the first pull, else from the last
    stored day minus REVISE_DAYS (never before the publish day); None when the video is not out yet."""
    first = quota.pt_day(video.published_at)
    last = one(
        conn.execute(
            "SELECT max(day) AS last FROM video_daily WHERE channel = %s AND video_id = %s",
            (channel, video.video_id),
        )
    )["last"]
    start = max(first, last - timedelta(days=REVISE_DAYS)) if last else first
    return (start, today) if start <= today else None


def store_daily(conn: Conn, channel: str, rows: Sequence[DailyRow]) -> None:
    """Upsert the days (a day pulled again replaces the stored one)."""
    for r in rows:
        conn.execute(
            "INSERT INTO video_daily (channel, video_id, day, views, engaged_views, estimated_minutes_watched,"
            " average_view_duration, average_view_percentage, likes, subscribers_gained, fetched_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())"
            " ON CONFLICT (channel, video_id, day) DO UPDATE SET views = EXCLUDED.views,"
            " engaged_views = EXCLUDED.engaged_views,"
            " estimated_minutes_watched = EXCLUDED.estimated_minutes_watched,"
            " average_view_duration = EXCLUDED.average_view_duration,"
            " average_view_percentage = EXCLUDED.average_view_percentage, likes = EXCLUDED.likes,"
            " subscribers_gained = EXCLUDED.subscribers_gained, fetched_at = EXCLUDED.fetched_at",
            (
                channel,
                r.video_id,
                r.day,
                r.views,
                r.engaged_views,
                r.estimated_minutes_watched,
                r.average_view_duration,
                r.average_view_percentage,
                r.likes,
                r.subscribers_gained,
            ),
        )


def store_retention(conn: Conn, channel: str, video_id: str, points: Sequence[RetentionPoint]) -> None:
    """Replace the video's retention curve with `points`."""
    conn.execute("DELETE FROM video_retention WHERE channel = %s AND video_id = %s", (channel, video_id))
    for p in points:
        conn.execute(
            "INSERT INTO video_retention (channel, video_id, elapsed_ratio, audience_watch_ratio,"
            " relative_retention) VALUES (%s, %s, %s, %s, %s)",
            (channel, video_id, p.elapsed_ratio, p.audience_watch_ratio, p.relative_retention),
        )


def store_traffic(conn: Conn, channel: str, video_id: str, rows: Sequence[TrafficRow]) -> None:
    """Replace the video's views by traffic source with `rows`."""
    conn.execute("DELETE FROM video_traffic WHERE channel = %s AND video_id = %s", (channel, video_id))
    for r in rows:
        conn.execute(
            "INSERT INTO video_traffic (channel, video_id, source, views) VALUES (%s, %s, %s, %s)",
            (channel, video_id, r.source, r.views),
        )


def store_counts(conn: Conn, channel: str, counts: Sequence[VideoCounts], at: datetime) -> None:
    """One video_counts row per video, at `at`."""
    for c in counts:
        conn.execute(
            "INSERT INTO video_counts (channel, video_id, at, views, likes, comments) VALUES (%s, %s, %s, %s,"
            " %s, %s) ON CONFLICT (channel, video_id, at) DO UPDATE SET views = EXCLUDED.views,"
            " likes = EXCLUDED.likes, comments = EXCLUDED.comments",
            (channel, c.video_id, at, c.views, c.likes, c.comments),
        )


def record_pull(conn: Conn, result: PullResult) -> PullResult:
    """The pull's row in analytics_pulls (committed)."""
    conn.execute(
        "INSERT INTO analytics_pulls (channel, outcome, videos, message) VALUES (%s, %s, %s, %s)",
        (result.channel, result.outcome, result.videos, result.message),
    )
    conn.commit()
    return result


def entered_channel(conn: Conn) -> str | None:
    """The channel `conn` is entered into (pipelines.db.enter_channel), or None."""
    return one(conn.execute("SELECT current_setting('nicheflow.channel', true) AS c"))["c"] or None


def _pull_video(
    conn: Conn, channel: str, provider: AnalyticsProvider, video: ChannelVideo, today: date
) -> tuple[int, int]:
    """One video's days, retention and traffic, committed; (daily rows, retention curves) stored."""
    window = days_to_pull(conn, channel, video, today)
    if window is None:
        return 0, 0
    daily = provider.daily(video.video_id, *window)
    store_daily(conn, channel, daily)
    life = (quota.pt_day(video.published_at), today)
    curves = 0
    if points := provider.retention(video.video_id, *life):
        store_retention(conn, channel, video.video_id, points)
        curves = 1
    if video.kind == "longform" and (traffic := provider.traffic(video.video_id, *life)):
        store_traffic(conn, channel, video.video_id, traffic)
    conn.commit()
    return len(daily), curves


def pull_channel(
    conn: Conn,
    channel: str,
    provider: AnalyticsProvider,
    today: date | None = None,
    *,
    now: datetime | None = None,
) -> PullResult:
    """Pull `channel`'s analytics from `provider` into its tables, on `conn` entered into that channel (a
    ValueError otherwise). `today`: the last day to ask for (default: today in Pacific time). Returns what
    was done, also recorded in analytics_pulls; a skip (token revoked, 403, not connected, quota spent) is
    returned, any other failure is recorded and raised."""
    if entered_channel(conn) != channel:
        raise ValueError(
            f"pull_channel({channel!r}) needs a connection entered into that channel (channel_db)"
        )
    now = now or clock.now()
    today = today or quota.pt_day(now)
    videos = published_videos(conn, channel, now)
    done = daily_rows = curves = 0
    try:
        for video in videos:
            rows, curve = _pull_video(conn, channel, provider, video, today)
            done, daily_rows, curves = done + 1, daily_rows + rows, curves + curve
        young = [v.video_id for v in videos if now - v.published_at < FRESH]
        counts = provider.counts(young) if young else []
        store_counts(conn, channel, counts, now)
        conn.commit()
    except SKIPPED as e:
        conn.rollback()
        log.warning("analytics of %s skipped: %s", channel, e)
        return record_pull(conn, PullResult(channel, "skipped", done, str(e), daily_rows, curves))
    except Exception as e:
        conn.rollback()
        record_pull(conn, PullResult(channel, "failed", done, f"{type(e).__name__}: {e}", daily_rows, curves))
        raise
    message = (
        f"{_n(done, 'video')}: {_n(daily_rows, 'daily row')}, {_n(curves, 'retention curve')}, "
        f"{_n(len(counts), 'near-real-time count')}"
    )
    log.info("analytics of %s: %s", channel, message)
    return record_pull(conn, PullResult(channel, "ok", done, message, daily_rows, curves, len(counts)))


def _n(count: int, thing: str) -> str:
    return f"{count} {thing}{'s' if count != 1 else ''}"


def youtube_provider(channel: str) -> AnalyticsProvider:
    """The channel's YouTube Analytics provider, with its token and its project's OAuth client from their
    connections (NotConnected says how to connect it)."""
    from pipelines.providers.analytics.youtube import YouTubeAnalytics
    from pipelines.providers.google import credentials_for

    yt = get_config(channel).publish.youtube
    if yt is None:
        raise NotConnected("YouTube", None, f"channel {channel} has no publish.youtube section")
    client, token = credentials_for(channel, yt.project)
    return YouTubeAnalytics(client, token, quota.Ledger(yt.project, channel), channel=channel)


def run(channel: str, today: date | None = None) -> PullResult:
    """The daily pull of one channel (the DAG task and `nicheflow analytics pull` call this): its provider
    from its connections, then pull_channel in the channel's own session."""
    from pipelines.production import channel_db

    with channel_db(channel) as conn:
        try:
            provider = youtube_provider(channel)
        except NotConnected as e:
            log.warning("analytics of %s skipped: %s", channel, e)
            return record_pull(conn, PullResult(channel, "skipped", 0, str(e)))
        result = pull_channel(conn, channel, provider, today)
        if result.outcome == "ok":  # what the audience did becomes the channel's learnings
            from knowledge import audience

            for change in audience.refresh(conn, channel):
                if change.action != "kept":
                    log.info("learning %s %s: %s", change.id, change.action, change.because or change.lesson)
        return result


def videos_of_channel(conn: Conn, channel: str) -> list[dict[str, Any]]:
    """The channel's videos on YouTube, newest first, with their figures: totals of the daily report (views,
    engaged_views, minutes_watched, likes, subscribers_gained; average_view_percentage weighted by views;
    days and last_day of data), the latest near-real-time counts (live_views, live_likes, live_comments,
    counted_at), retention_points, and from_shorts (views its Shorts sent, long-form only). Works on a
    connection entered into the channel or not."""
    rows = conn.execute(
        "SELECT u.item, u.kind, u.video_id, u.production_id, p.topic,"
        " coalesce(u.publish_at, u.created_at) AS published_at, u.state,"
        " coalesce(d.views, 0) AS views, coalesce(d.engaged_views, 0) AS engaged_views,"
        " coalesce(d.minutes, 0) AS minutes_watched, d.avg_pct AS average_view_percentage,"
        " coalesce(d.likes, 0) AS likes, coalesce(d.subs, 0) AS subscribers_gained,"
        " coalesce(d.days, 0) AS days, d.last_day,"
        " c.views AS live_views, c.likes AS live_likes, c.comments AS live_comments, c.at AS counted_at,"
        " (SELECT count(*) FROM video_retention r WHERE r.channel = u.channel AND r.video_id = u.video_id)"
        " AS retention_points,"
        " (SELECT t.views FROM video_traffic t WHERE t.channel = u.channel AND t.video_id = u.video_id"
        " AND t.source = 'SHORTS') AS from_shorts"
        " FROM youtube_uploads u JOIN productions p ON p.id = u.production_id"
        " LEFT JOIN LATERAL (SELECT sum(views) AS views, sum(engaged_views) AS engaged_views,"
        " sum(estimated_minutes_watched) AS minutes, sum(likes) AS likes, sum(subscribers_gained) AS subs,"
        " sum(average_view_percentage * views) / nullif(sum(views), 0) AS avg_pct, count(*) AS days,"
        " max(day) AS last_day FROM video_daily d WHERE d.channel = u.channel AND d.video_id = u.video_id) d"
        " ON true"
        " LEFT JOIN LATERAL (SELECT views, likes, comments, at FROM video_counts c WHERE c.channel = u.channel"
        " AND c.video_id = u.video_id ORDER BY at DESC LIMIT 1) c ON true"
        " WHERE u.channel = %s AND u.video_id IS NOT NULL ORDER BY published_at DESC, u.item",
        (channel,),
    ).fetchall()
    return [dict(r) for r in rows]


def last_pull(conn: Conn, channel: str) -> dict[str, Any] | None:
    """The channel's latest analytics_pulls row (at, outcome, videos, message), or None."""
    row = conn.execute(
        "SELECT at, outcome, videos, message FROM analytics_pulls WHERE channel = %s ORDER BY at DESC, id DESC"
        " LIMIT 1",
        (channel,),
    ).fetchone()
    return dict(row) if row else None
