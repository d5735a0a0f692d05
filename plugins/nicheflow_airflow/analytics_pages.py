"""The Analytics pages and the content calendar of the Review UI (server-rendered, charts as inline SVG):

    /review/analytics                         the channels the viewer may see (first one opened)
    /review/analytics/{channel}               a channel's videos, their figures, views per day, last pull
    /review/analytics/{channel}/videos/{id}   one video: figures per day, retention curve with markers
    /review/calendar                          published and scheduled slots per day across channels

A channel's pages need read access to its DAG, as the Review page does (review_auth); the calendar shows
only the channels the viewer may read. The queries live in analytics_views and calendar_views."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from nicheflow_airflow import review_ops as ops
from nicheflow_airflow.review_auth import PageUser, Reviewer
from nicheflow_airflow.review_pages import render, root

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def _configs() -> dict:
    from pipelines.config import load_all

    return load_all().configs


def visible_channels(r: Reviewer) -> list[str]:
    """The channels with a config or a production that the viewer may read, sorted."""
    with ops._db() as conn:
        from pipelines import review

        known = set(review.channels(conn))
    return sorted(c for c in known | set(_configs()) if r.can_read(c))


def _channel_or_404(r: Reviewer, channel: str) -> None:
    if channel not in _configs():
        with ops._db() as conn:
            if not conn.execute(
                "SELECT 1 FROM productions WHERE channel = %s LIMIT 1", (channel,)
            ).fetchone():
                raise ops.ReviewError(404, f"no channel {channel!r}: no config and no productions")
    r.require_read(channel)


def _provider(channel: str) -> str:
    cfg = _configs().get(channel)
    return cfg.publish.provider if cfg else "outbox"


def _timezone(channel: str) -> str:
    cfg = _configs().get(channel)
    return cfg.timezone if cfg else "UTC"


@router.get("/analytics")
def analytics_index(request: Request, r: PageUser):
    channels = visible_channels(r)
    if channels:
        return RedirectResponse(f"{root(request)}/analytics/{channels[0]}", status_code=303)
    return render(request, r, "analytics.html", view=None, channels=[], channel=None)


def channel_page(request: Request, r: Reviewer, channel: str):
    """The channel's Analytics page (after the read check)."""
    from nicheflow_airflow.analytics_views import channel_view

    _channel_or_404(r, channel)
    with ops._db() as conn:
        view = channel_view(conn, channel, _provider(channel), timezone=_timezone(channel))
    return render(request, r, "analytics.html", view=view, channels=visible_channels(r), channel=channel)


@router.get("/analytics/{channel}")
def analytics_channel(request: Request, r: PageUser, channel: str):
    return channel_page(request, r, channel)


def video_page(
    request: Request,
    r: Reviewer,
    channel: str,
    video_id: str,
    boundaries: Sequence[tuple[float, str]] | None = None,
):
    """One video's Analytics page; `boundaries` (seconds, label) are drawn on its retention curve."""
    from nicheflow_airflow.analytics_views import video_view

    _channel_or_404(r, channel)
    with ops._db() as conn:
        view = video_view(conn, channel, video_id, boundaries)
    if view is None:
        raise ops.ReviewError(404, f"channel {channel} has no published video {video_id!r}")
    return render(request, r, "analytics_video.html", view=view, channel=channel)


@router.get("/analytics/{channel}/videos/{video_id}")
def analytics_video(request: Request, r: PageUser, channel: str, video_id: str):
    return video_page(request, r, channel, video_id)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ops.ReviewError(
            400, f"unknown time zone {name!r}; use an IANA name such as 'UTC' or 'America/Sao_Paulo'"
        ) from None
    return name


@router.get("/calendar")
def calendar(
    request: Request, r: PageUser, start: str = "", weeks: int = 4, tz: str = "UTC", channel: str = ""
):
    from nicheflow_airflow.calendar_views import MAX_WEEKS, ChannelSlots, calendar_view, week_start

    zone = _zone(tz or "UTC")
    if not 1 <= weeks <= MAX_WEEKS:
        raise ops.ReviewError(400, f"weeks must be 1 to {MAX_WEEKS}, not {weeks}")
    try:
        first = date.fromisoformat(start) if start else None
    except ValueError:
        raise ops.ReviewError(400, f"start {start!r} is not a date (YYYY-MM-DD)") from None
    visible = visible_channels(r)
    if channel and channel not in visible:
        _channel_or_404(r, channel)  # 404 or 403, saying why
    configs = _configs()
    slots = [
        ChannelSlots.of(configs[c]) if c in configs else ChannelSlots(c)
        for c in ([channel] if channel else visible)
    ]
    if first is None:  # the week before this one, this one and two ahead
        today = datetime.now(ZoneInfo(zone)).date()
        first = date.fromordinal(week_start(today).toordinal() - 7)
    with ops._db() as conn:
        view = calendar_view(conn, slots, start=first, weeks=weeks, zone=zone)
    zones = sorted({"UTC", zone, *(s.timezone for s in slots)})
    return render(
        request,
        r,
        "calendar.html",
        cal=view,
        zones=zones,
        channels=visible,
        filters={"channel": channel, "tz": zone, "weeks": weeks},
    )
