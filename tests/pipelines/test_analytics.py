"""The daily analytics pull with the real PostgreSQL, through the real google-api-python-client against a
local server that answers the YouTube Analytics API v2 and Data API v3 (tests.helpers.fake_youtube): figures
per video per day, re-pulls that replace, new videos without data, channels skipped (403, revoked token)
while others go on, the quota ledger, and channel isolation."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from pipelines import analytics, quota
from pipelines.db import connect
from pipelines.production import channel_db
from pipelines.providers.analytics.base import DailyRow
from pipelines.providers.google import channel_conn_id, conn_env
from tests.helpers.analytics import HISTORIA, connect_channels, pt_days_ago, uploaded
from tests.helpers.fake_youtube import FakeYouTube
from tests.helpers.fake_youtube_analytics import sample_daily, sample_retention


@pytest.fixture
def youtube(database, configs, monkeypatch):
    """science_en and historia_ptbr publish to a local YouTube through project main, both connected."""
    with FakeYouTube() as fake:
        yield fake, connect_channels(fake, configs, monkeypatch)


def daily_rows(channel: str) -> list[dict]:
    with connect() as conn:
        return conn.execute(
            "SELECT * FROM video_daily WHERE channel = %s ORDER BY video_id, day", (channel,)
        ).fetchall()


def reports(fake) -> list[dict]:
    return [r.query for r in fake.requests if r.path == "/v2/reports"]


def test_figures_are_stored_per_video_per_day(youtube):
    fake, _ = youtube
    vid = uploaded(fake, "science_en", days_ago=10)
    figures = sample_daily(pt_days_ago(10), 8)  # the last two days are not in yet (48-72 h late)
    fake.set_analytics(
        vid, daily=figures, retention=sample_retention(), traffic={"SHORTS": 120, "YT_SEARCH": 340}
    )

    result = analytics.run("science_en")

    assert (result.outcome, result.videos, result.daily_rows, result.retention_curves) == ("ok", 1, 8, 1)
    stored = daily_rows("science_en")
    assert [r["day"] for r in stored] == sorted(figures)
    for row in stored:
        f = figures[row["day"]]
        assert (row["views"], row["engaged_views"], row["likes"], row["subscribers_gained"]) == (
            f["views"], f["engagedViews"], f["likes"], f["subscribersGained"]
        )  # fmt: skip
        assert row["estimated_minutes_watched"] == f["estimatedMinutesWatched"]
        assert row["average_view_duration"] == f["averageViewDuration"]
        assert row["average_view_percentage"] == pytest.approx(f["averageViewPercentage"])
    with channel_db("science_en") as conn:
        [video] = analytics.videos_of_channel(conn, "science_en")
        curve = conn.execute("SELECT * FROM video_retention ORDER BY elapsed_ratio").fetchall()
        traffic = {r["source"]: r["views"] for r in conn.execute("SELECT * FROM video_traffic")}
        pull = analytics.last_pull(conn, "science_en")
    assert video["video_id"] == vid and video["views"] == sum(f["views"] for f in figures.values())
    assert video["days"] == 8 and video["retention_points"] == 100 and video["from_shorts"] == 120
    assert [round(r["elapsed_ratio"], 2) for r in curve] == [i / 100 for i in range(1, 101)]
    assert curve[0]["audience_watch_ratio"] > curve[-1]["audience_watch_ratio"]
    assert traffic == {"SHORTS": 120, "YT_SEARCH": 340}
    assert pull is not None and pull["outcome"] == "ok" and pull["videos"] == 1
    [daily] = [q for q in reports(fake) if q["dimensions"] == "day"]
    assert (daily["filters"], daily["startDate"]) == (f"video=={vid}", pt_days_ago(10).isoformat())


def test_a_re_pull_replaces_the_revised_days_instead_of_adding_them(youtube):
    fake, _ = youtube
    vid = uploaded(fake, "science_en", days_ago=12)
    figures = sample_daily(pt_days_ago(12), 10)
    fake.set_analytics(vid, daily=figures)
    analytics.run("science_en")
    last = max(figures)
    figures[last] = figures[last] | {"views": figures[last]["views"] + 77}  # YouTube revised the day
    figures[last + timedelta(days=1)] = dict(figures[last])  # and a new day came in
    fake.set_analytics(vid, daily=figures)
    fake.requests.clear()

    analytics.run("science_en")

    stored = {r["day"]: r["views"] for r in daily_rows("science_en")}
    assert len(stored) == 11 and stored[last] == figures[last]["views"]
    [daily] = [q for q in reports(fake) if q["dimensions"] == "day"]
    assert daily["startDate"] == (last - timedelta(days=analytics.REVISE_DAYS)).isoformat()


def test_a_new_video_without_data_is_no_error_and_gets_near_real_time_counts(youtube):
    fake, _ = youtube
    old = uploaded(fake, "science_en", days_ago=20, viewCount=5000)
    new = uploaded(fake, "science_en", days_ago=1, viewCount=37, likeCount=4, commentCount=2)
    short = uploaded(fake, "science_en", days_ago=0.5, kind="short", viewCount=410)
    fake.set_analytics(old, daily=sample_daily(pt_days_ago(20), 18))

    result = analytics.run("science_en")

    assert result.outcome == "ok" and result.videos == 3 and result.counted == 2
    assert {r["video_id"] for r in daily_rows("science_en")} == {old}
    [listed] = [r.query for r in fake.requests if r.path == "/youtube/v3/videos"]
    assert listed["part"] == "statistics" and set(listed["id"].split(",")) == {new, short}  # only the young
    with channel_db("science_en") as conn:
        counts = {r["video_id"]: r for r in conn.execute("SELECT * FROM video_counts")}
        summary = {v["video_id"]: v for v in analytics.videos_of_channel(conn, "science_en")}
    assert (counts[new]["views"], counts[new]["likes"], counts[new]["comments"]) == (37, 4, 2)
    assert summary[new]["views"] == 0 and summary[new]["live_views"] == 37
    assert summary[short]["kind"] == "short" and summary[short]["retention_points"] == 0
    assert not [
        q for q in reports(fake) if q["dimensions"] == "insightTrafficSourceType" and short in q["filters"]
    ]


def test_a_channel_whose_analytics_answer_403_is_skipped_and_the_other_goes_on(youtube):
    fake, _ = youtube
    sci = uploaded(fake, "science_en", days_ago=6)
    his = uploaded(fake, "historia_ptbr", days_ago=6)
    fake.set_analytics(sci, daily=sample_daily(pt_days_ago(6), 4))
    fake.set_analytics(his, daily=sample_daily(pt_days_ago(6), 4))
    fake.analytics_forbidden.add(HISTORIA)

    skipped, done = analytics.run("historia_ptbr"), analytics.run("science_en")

    assert skipped.outcome == "skipped" and "403" in skipped.message
    assert "nicheflow youtube connect historia_ptbr" in skipped.message
    assert done.outcome == "ok" and len(daily_rows("science_en")) == 4 and daily_rows("historia_ptbr") == []
    with connect() as conn:
        pulls = {r["channel"]: r for r in conn.execute("SELECT * FROM analytics_pulls")}
    assert pulls["historia_ptbr"]["outcome"] == "skipped" and pulls["science_en"]["outcome"] == "ok"
    assert [q["filters"] for q in reports(fake)].count(f"video=={his}") == 1  # asked once, not retried


def test_a_revoked_token_is_skipped_with_what_to_do(youtube):
    fake, tokens = youtube
    uploaded(fake, "historia_ptbr", days_ago=6)
    fake.revoke(tokens["historia_ptbr"])

    result = analytics.run("historia_ptbr")

    assert result.outcome == "skipped" and "invalid_grant" in result.message
    assert "nicheflow youtube connect historia_ptbr" in result.message
    assert sum(r.path == "/token" for r in fake.requests) == 1 and reports(fake) == []


def test_a_channel_not_connected_is_skipped(youtube, monkeypatch):
    monkeypatch.delenv(conn_env(channel_conn_id("historia_ptbr")))
    result = analytics.run("historia_ptbr")
    assert result.outcome == "skipped" and "nicheflow youtube connect historia_ptbr" in result.message


def test_a_refused_query_is_recorded_as_failed_and_raised(youtube):
    fake, _ = youtube
    uploaded(fake, "science_en", days_ago=6)
    fake.fail_next("reports", 400, "badRequest", "The query is not supported.")
    with pytest.raises(Exception, match="not supported"):
        analytics.run("science_en")
    with connect() as conn:
        [pull] = conn.execute("SELECT * FROM analytics_pulls").fetchall()
    assert pull["outcome"] == "failed" and "not supported" in pull["message"]


def test_analytics_queries_are_in_the_ledger_apart_from_the_data_api_units(youtube):
    fake, _ = youtube
    long_id = uploaded(fake, "science_en", days_ago=8)
    uploaded(fake, "science_en", days_ago=8, kind="short")
    uploaded(fake, "science_en", days_ago=1)
    fake.set_analytics(long_id, daily=sample_daily(pt_days_ago(8), 6), retention=sample_retention())

    analytics.run("science_en")

    with connect() as conn:
        calls = conn.execute("SELECT api, method, units, for_channel FROM youtube_calls").fetchall()
        spent = quota.spent(conn, "main")
        queries = quota.analytics_queries(conn, "main")
    by_api = {(c["api"], c["method"]) for c in calls}
    assert by_api == {("analytics", "reports.query"), ("data", "videos.list")}
    assert (
        queries == 3 + 2 + 3
    )  # day, retention and traffic per long-form video; day and retention for a Short
    assert spent.units == 1 and spent.uploads == 0  # only videos.list counts against the 10,000 units
    assert {c["for_channel"] for c in calls} == {"science_en"}


def test_a_pull_cannot_touch_another_channels_rows(youtube):
    fake, _ = youtube
    his = uploaded(fake, "historia_ptbr", days_ago=6)
    fake.set_analytics(his, daily=sample_daily(pt_days_ago(6), 4))
    sci = uploaded(fake, "science_en", days_ago=6)

    analytics.run("science_en")
    assert all(
        his not in q["filters"] for q in reports(fake)
    )  # science_en's pull never sees historia's videos

    provider = analytics.youtube_provider("historia_ptbr")
    with channel_db("science_en") as conn:
        with pytest.raises(ValueError, match="entered into that channel"):
            analytics.pull_channel(conn, "historia_ptbr", provider)
        row = DailyRow(sci, pt_days_ago(2), 1, 1, 1.0, 1.0, 1.0, 0, 0)
        with pytest.raises(psycopg.errors.WithCheckOptionViolation):
            analytics.store_daily(conn, "historia_ptbr", [row])
        conn.rollback()
        assert analytics.videos_of_channel(conn, "historia_ptbr") == []  # nor read them
    assert daily_rows("historia_ptbr") == []
