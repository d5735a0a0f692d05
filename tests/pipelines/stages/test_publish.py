"""The publish stage on YouTube with the real PostgreSQL: the quota ledger decides when an upload may start
(waiting until midnight Pacific when the day's quota cannot take the whole publish), upload records make a
retry continue instead of repeat, and a revoked token marks the item failed with what to do."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from pipelines import clock, production, quota, review, uploads
from pipelines.db import connect
from pipelines.errors import WaitUntil
from pipelines.production import production_db
from pipelines.providers.publish.youtube import TokenRevoked, channel_conn_id, conn_env, project_conn_id
from tests.helpers import edit_yaml
from tests.helpers.fake_youtube import FakeYouTube
from tests.helpers.publish import make_item

CHANNEL = "UCscience000000000000001"


@pytest.fixture
def youtube(database, data_dir, configs, monkeypatch, tmp_path):
    """science_en publishing to a local YouTube: its connections in their environment form, a clock that
    the test can shift, and one production."""
    fake = FakeYouTube()
    token = fake.add_channel(CHANNEL, "Science, Explained")
    cfg = fake.client_config()["installed"]
    edit_yaml(
        configs / "science_en.yaml",
        {"publish.provider": "youtube", "publish.youtube.project": "main", "publish.youtube.chunk_mib": 0.25},
    )
    client = {"login": cfg["client_id"], "password": cfg["client_secret"]}
    client["extra"] = {"token_uri": cfg["token_uri"], "api_root": fake.url}
    monkeypatch.setenv(conn_env(project_conn_id("main")), json.dumps(client))
    channel = {"password": token, "extra": {"channel_id": CHANNEL, "channel_title": "Science, Explained"}}
    monkeypatch.setenv(conn_env(channel_conn_id("science_en")), json.dumps(channel))
    monkeypatch.setenv("NICHEFLOW_CLOCK_SHIFT_FILE", str(tmp_path / "clock-shift"))
    with connect() as conn:
        pid = production.create(conn, "science_en", "The Hubble Space Telescope", "run-1").id
    yield fake, token, pid
    fake.close()


def shift_clock_to(tmp_path, moment: datetime) -> None:
    (tmp_path / "clock-shift").write_text(
        str((moment - clock.now()).total_seconds() + clock.shift().total_seconds())
    )


def spend(project: str, units: int, uploads_: int = 0) -> None:
    ledger = quota.Ledger(project, "historia_ptbr")  # another channel of the same project
    for _ in range(uploads_):
        ledger.record("videos.insert", True)
    for _ in range(units // 400):
        ledger.record("captions.insert", True)


def test_a_publish_the_quota_cannot_take_waits_for_midnight_pacific_then_goes_up(youtube, tmp_path):
    from pipelines.stages.publish import publish_item

    fake, _, pid = youtube
    shift_clock_to(tmp_path, datetime(2030, 3, 1, 23, 50, tzinfo=quota.PACIFIC))
    spend("main", 9_600)  # 400 left: not enough for thumbnail 50 + captions 400 + ...
    item = make_item(tmp_path / "files", production_id=pid, video_bytes=3 * 256 * 1024)
    with production_db(pid) as (conn, p), pytest.raises(WaitUntil) as wait:
        publish_item(conn, p, item)
    assert wait.value.until == datetime(2030, 3, 2, 0, 0, tzinfo=quota.PACIFIC)
    assert fake.sessions_started == 0  # nothing was sent to YouTube
    with connect() as conn:
        [row] = uploads.of_production(conn, pid)
        [state] = [s for s in review.channel_state(conn) if s["channel"] == "science_en"]
    assert row["state"] == "waiting" and row["waiting_until"] == wait.value.until
    assert "quota" in row["message"]
    assert [w["item"] for w in state["waiting_for_quota"]] == [item.name]

    shift_clock_to(tmp_path, datetime(2030, 3, 2, 0, 0, 5, tzinfo=quota.PACIFIC))  # a new Pacific day
    with production_db(pid) as (conn, p):
        receipt = publish_item(conn, p, item)
    assert [v.id for v in fake.videos.values() if v.complete] == [receipt["video_id"]]
    with connect() as conn:
        [row] = uploads.of_production(conn, pid)
        today = quota.spent(conn, "main")
    assert row["state"] == "published" and row["url"] == receipt["url"]
    assert (today.day, today.uploads, today.units) == (datetime(2030, 3, 2).date(), 1, 1 + 50 + 400)


def test_youtube_saying_quota_exceeded_waits_too_and_is_counted(youtube, tmp_path):
    from pipelines.stages.publish import publish_item

    fake, _, pid = youtube
    fake.fail_next("insert", 403, "quotaExceeded")
    item = make_item(tmp_path / "files", production_id=pid)
    with production_db(pid) as (conn, p), pytest.raises(WaitUntil) as wait:
        publish_item(conn, p, item)
    assert wait.value.until == quota.next_reset()
    with connect() as conn:
        spent = quota.spent(conn, "main")
    assert spent.uploads == 1  # the refused call counts: YouTube charges it


def test_the_upload_limit_waits_a_day_from_the_channels_first_upload(youtube, tmp_path):
    from pipelines.stages.publish import publish_item

    fake, _, pid = youtube
    first = make_item(tmp_path / "a", production_id=pid, name=f"{pid:05d}-short-1")
    with production_db(pid) as (conn, p):
        publish_item(conn, p, first)
        fake.fail_next("insert", 400, "uploadLimitExceeded")
        with pytest.raises(WaitUntil, match="upload limit") as wait:
            publish_item(conn, p, make_item(tmp_path / "b", production_id=pid, name=f"{pid:05d}-short-2"))
    assert clock.now() + timedelta(hours=23) < wait.value.until <= clock.now() + timedelta(hours=24)


def test_a_revoked_token_marks_the_item_failed_with_what_to_do(youtube, tmp_path):
    from pipelines.stages.publish import publish_item

    fake, token, pid = youtube
    fake.revoke(token)
    with production_db(pid) as (conn, p), pytest.raises(TokenRevoked):
        publish_item(conn, p, make_item(tmp_path / "files", production_id=pid))
    with connect() as conn:
        [row] = uploads.of_production(conn, pid)
    assert row["state"] == "failed" and "nicheflow youtube connect science_en" in row["message"]


def test_a_retried_publish_continues_and_keeps_its_slot(youtube, tmp_path):
    from pipelines.stages.publish import publish_item, slot_for

    fake, _, pid = youtube
    with production_db(pid) as (conn, p):
        at = slot_for(conn, p, f"{pid:05d}-longform", p.cfg.publish.time)
        item = make_item(tmp_path / "files", production_id=pid, publish_at=at, video_bytes=4 * 256 * 1024)
        fake.drop_next_chunk(256 * 1024)
        fake.drop_next_chunk(256 * 1024)
        fake.drop_next_chunk(256 * 1024)
        fake.drop_next_chunk(256 * 1024)
        with pytest.raises(Exception, match="no answer"):
            publish_item(conn, p, item)  # every attempt of this task dropped: Airflow would retry it
        assert slot_for(conn, p, item.name, p.cfg.publish.time) == at  # the retry keeps its publish time
        other = slot_for(conn, p, f"{pid:05d}-other", p.cfg.publish.time)
        assert other is not None and other > at  # and nobody else gets it
        receipt = publish_item(conn, p, item)
    [video] = [v for v in fake.videos.values() if v.complete]
    assert video.id == receipt["video_id"] and fake.sessions_started == 1
