"""Rows the Analytics pages and the content calendar read, seeded as the analytics pull, the publish stage
and the outbox would leave them: productions, youtube_uploads, video_daily/counts/retention/traffic,
analytics_pulls, pending checkpoints, and outbox items (metadata.json + receipt.json)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from psycopg.types.json import Jsonb

from pipelines.files import write_json


def production(conn, channel: str, topic: str, status: str = "published") -> int:
    row = conn.execute(
        "INSERT INTO productions (channel, topic, dag_run_id, status, workspace) VALUES (%s, %s, %s, %s, %s)"
        " RETURNING id",
        (channel, topic, f"manual__{topic[:20]}", status, f"/tmp/ws/{channel}"),
    ).fetchone()
    return row["id"]


def upload(
    conn,
    channel: str,
    production_id: int,
    kind: str,
    video_id: str | None,
    publish_at: datetime | None,
    *,
    state: str = "published",
    n: int = 1,
    details: dict | None = None,
) -> str:
    item = f"{production_id:05d}-longform" if kind == "longform" else f"{production_id:05d}-short-{n}"
    conn.execute(
        "INSERT INTO youtube_uploads (item, channel, production_id, kind, project, size_bytes, video_id,"
        " publish_at, privacy, state, details) VALUES (%s, %s, %s, %s, 'nicheflow_test', 1000, %s, %s,"
        " 'private', %s, %s)",
        (item, channel, production_id, kind, video_id, publish_at, state, Jsonb(details or {})),
    )
    return item


def daily(conn, channel: str, video_id: str, first: date, views: list[int], avg_pct: float = 50.0) -> None:
    for i, v in enumerate(views):
        conn.execute(
            "INSERT INTO video_daily (channel, video_id, day, views, engaged_views, estimated_minutes_watched,"
            " average_view_duration, average_view_percentage, likes, subscribers_gained)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                channel,
                video_id,
                first + timedelta(i),
                v,
                v * 8 // 10,
                v * 0.75,
                45.0,
                avg_pct,
                v // 10,
                v // 50,
            ),
        )


def counts(conn, channel: str, video_id: str, at: datetime, views: int, likes: int, comments: int) -> None:
    conn.execute(
        "INSERT INTO video_counts (channel, video_id, at, views, likes, comments) VALUES (%s, %s, %s, %s, %s, %s)",
        (channel, video_id, at, views, likes, comments),
    )


def retention(conn, channel: str, video_id: str, curve: list[tuple[float, float]]) -> None:
    for ratio, watch in curve:
        conn.execute(
            "INSERT INTO video_retention (channel, video_id, elapsed_ratio, audience_watch_ratio)"
            " VALUES (%s, %s, %s, %s)",
            (channel, video_id, ratio, watch),
        )


def pull(conn, channel: str, at: datetime, outcome: str, videos: int = 0, message: str | None = None) -> None:
    conn.execute(
        "INSERT INTO analytics_pulls (channel, at, outcome, videos, message) VALUES (%s, %s, %s, %s, %s)",
        (channel, at, outcome, videos, message),
    )


def pending(conn, channel: str, production_id: int, stage: str) -> int:
    return conn.execute(
        "INSERT INTO checkpoints (production_id, channel, stage, revision) VALUES (%s, %s, %s, 1) RETURNING id",
        (production_id, channel, stage),
    ).fetchone()["id"]


def outbox_item(
    root: Path, channel: str, production_id: int, kind: str, title: str, publish_at: datetime, n: int = 1
) -> Path:
    name = f"{production_id:05d}-longform" if kind == "longform" else f"{production_id:05d}-short-{n}"
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    write_json(
        folder / "metadata.json",
        {
            "kind": kind,
            "channel": channel,
            "production_id": production_id,
            "title": title,
            "publish_at": publish_at.isoformat(),
        },
    )
    write_json(folder / "receipt.json", {"provider": "local outbox", "published_at": publish_at.isoformat()})
    return folder


def retention_curve(points: int = 100) -> list[tuple[float, float]]:
    """A realistic curve: a drop in the first seconds, a slow slide, a bump where people rewatch."""
    out = []
    for i in range(1, points + 1):
        r = i / points
        watch = 0.92 - 0.45 * r if r > 0.05 else 1.0 - 1.6 * r
        if 0.4 <= r <= 0.45:
            watch += 0.06
        out.append((round(r, 2), round(watch, 4)))
    return out
