"""Channels connected to a local YouTube (tests.helpers.fake_youtube) and videos on it, for analytics tests."""

from __future__ import annotations

import json
from datetime import date, timedelta

from pipelines import clock, production, quota
from pipelines.db import connect
from pipelines.providers.google import channel_conn_id, conn_env, project_conn_id
from tests.helpers import edit_yaml

SCIENCE, HISTORIA = "UCscience000000000000001", "UChistoria00000000000001"
YOUTUBE_IDS = {"science_en": SCIENCE, "historia_ptbr": HISTORIA}


def connect_channels(fake, configs, monkeypatch) -> dict[str, str]:
    """science_en and historia_ptbr publish to `fake` through project main, both connected (their connections
    in the environment form tasks read); returns each channel's refresh token."""
    cfg = fake.client_config()["installed"]
    client = {"login": cfg["client_id"], "password": cfg["client_secret"]}
    client["extra"] = {"token_uri": cfg["token_uri"], "api_root": fake.url}
    monkeypatch.setenv(conn_env(project_conn_id("main")), json.dumps(client))
    tokens = {}
    for channel, yt_id in YOUTUBE_IDS.items():
        edit_yaml(
            configs / f"{channel}.yaml", {"publish.provider": "youtube", "publish.youtube.project": "main"}
        )
        tokens[channel] = fake.add_channel(yt_id, channel)
        conn = {"password": tokens[channel], "extra": {"channel_id": yt_id}}
        monkeypatch.setenv(conn_env(channel_conn_id(channel)), json.dumps(conn))
    return tokens


def uploaded(fake, channel: str, days_ago: float, kind: str = "longform", **stats) -> str:
    """A video of `channel` published `days_ago` days ago: on the fake, and in youtube_uploads with its own
    production ("topic of <video id>"); returns its video id."""
    at = clock.now() - timedelta(days=days_ago)
    video_id = fake.add_video(YOUTUBE_IDS[channel], published_at=at.isoformat(), **stats)
    with connect() as conn:
        pid = production.create(conn, channel, f"topic of {video_id}", f"run-{video_id}").id
        conn.execute(
            "INSERT INTO youtube_uploads (item, channel, production_id, kind, project, size_bytes, video_id,"
            " publish_at, privacy, state) VALUES (%s, %s, %s, %s, 'main', 1000, %s, %s, 'private', 'published')",
            (f"{pid:05d}-{kind}", channel, pid, kind, video_id, at),
        )
    return video_id


def pt_days_ago(n: float) -> date:
    """The Pacific day (the Analytics API's) of the moment `n` days ago."""
    return quota.pt_day(clock.now() - timedelta(days=n))
