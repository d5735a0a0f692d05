"""`nicheflow analytics ...`: pull YouTube Analytics now, and show a channel's videos with their figures.

  nicheflow analytics pull [CHANNEL]
      the daily pull (pipelines/analytics.py) of one channel, or of every channel that publishes to
      YouTube; one line per channel: ok, skipped (and what to do) or failed. Exit 1 unless all were ok.
  nicheflow analytics show CHANNEL
      the channel's videos, newest first: views, engaged views, watch time, average view percentage,
      likes, subscribers gained (the Analytics API's daily report, 48-72 hours late), the latest
      near-real-time views of young videos, retention points, views sent by Shorts; then the last pull.

The tokens come from Airflow's connection store (as `nicheflow youtube` reads them), unless their
environment form (AIRFLOW_CONN_YOUTUBE_...) is already set; they are never printed."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from pipelines import analytics
from pipelines.config import ConfigError, get_config
from pipelines.db import connect
from pipelines.local.tables import table
from pipelines.providers.google import channel_conn_id, conn_env, project_conn_id


def export_connections(channels: list[str]) -> None:
    """Set the environment form of each channel's token and project client that is not set yet, from
    Airflow's connection store (one `airflow connections export`, only when something is missing)."""
    wanted = set()
    for channel in channels:
        yt = get_config(channel).publish.youtube
        if yt is not None:
            wanted |= {channel_conn_id(channel), project_conn_id(yt.project)}
    missing = [c for c in sorted(wanted) if not os.environ.get(conn_env(c))]
    if not missing:
        return
    from pipelines.local.youtube_cli import AirflowConnections

    stored = AirflowConnections().youtube()
    for conn_id in missing:
        if conn_id in stored:
            os.environ[conn_env(conn_id)] = json.dumps(stored[conn_id])


def cmd_pull(args: argparse.Namespace) -> int:
    """Pull one channel or every YouTube channel; exit 1 when any was skipped or failed."""
    channels = [get_config(args.channel).channel] if args.channel else analytics.youtube_channels()
    if not channels:
        print("No channel publishes to YouTube (publish.provider: youtube): nothing to pull.")
        return 0
    export_connections(channels)
    worst = 0
    for channel in channels:
        try:
            result = analytics.run(channel)
        except Exception as e:  # recorded as failed in analytics_pulls; the other channels go on
            print(f"{channel}  failed   {type(e).__name__}: {e}")
            worst = 1
            continue
        print(f"{channel}  {result.outcome:<8} {result.message}")
        worst = worst or int(result.outcome != "ok")
    return worst


def _num(n: Any) -> str:
    return "-" if n is None else f"{n:,}"


def _row(v: dict[str, Any]) -> list[str]:
    pct = v["average_view_percentage"]
    live = f"{_num(v['live_views'])} at {v['counted_at']:%m-%d %H:%M}" if v["live_views"] is not None else "-"
    return [
        v["published_at"].astimezone().strftime("%Y-%m-%d"),
        v["kind"],
        v["video_id"],
        _num(v["views"]),
        _num(v["engaged_views"]),
        f"{v['minutes_watched'] / 60:,.1f}",
        f"{pct:.1f} %" if pct is not None else "-",
        _num(v["likes"]),
        _num(v["subscribers_gained"]),
        live,
        str(v["retention_points"] or "-"),
        _num(v["from_shorts"]),
        v["topic"],
    ]


HEAD = ["PUBLISHED", "KIND", "VIDEO", "VIEWS", "ENGAGED", "WATCH H", "AVG VIEWED", "LIKES", "SUBS"]
HEAD += ["LIVE VIEWS", "RETENTION", "FROM SHORTS", "TOPIC"]


def cmd_show(args: argparse.Namespace) -> int:
    """The channel's videos with their figures, then its last pull."""
    channel = get_config(args.channel).channel
    with connect() as conn:
        videos = analytics.videos_of_channel(conn, channel)
        pull = analytics.last_pull(conn, channel)
    if not videos:
        print(f"{channel} has no video on YouTube yet.")
    else:
        for line in table([HEAD, *(_row(v) for v in videos)]):
            print(line)
    if pull is None:
        print(
            f"\nNo analytics pulled yet: `nicheflow analytics pull {channel}` (the daily DAG does it at 05:00 UTC)."
        )
    else:
        at = pull["at"].astimezone().strftime("%Y-%m-%d %H:%M %Z")
        print(f"\nLast pull {at}: {pull['outcome']}: {pull['message'] or ''}".rstrip(": "))
    return 0


def _guarded(fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(fn(args))
        except ConfigError as e:
            print(f"nicheflow: {e}", file=sys.stderr)
            return 2

    return run


def register(sub: Any) -> None:
    """Add `analytics pull|show` to the `nicheflow` argument parser's subcommands."""
    an = sub.add_parser("analytics", help="pull YouTube Analytics; a channel's videos with their figures")
    cmds = an.add_subparsers(dest="analytics_cmd", required=True)
    p = cmds.add_parser("pull", help="pull now: one channel, or every channel that publishes to YouTube")
    p.add_argument("channel", nargs="?")
    p.set_defaults(func=_guarded(cmd_pull))
    p = cmds.add_parser("show", help="a channel's videos with their figures, and its last pull")
    p.add_argument("channel")
    p.set_defaults(func=_guarded(cmd_show))
