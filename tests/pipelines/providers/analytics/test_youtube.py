"""The YouTube Analytics provider through the real google-api-python-client and google-auth against a local
server that answers the Analytics API v2 as Google does (tests.helpers.fake_youtube): typed rows, empty
reports, retried 5xx, and 403s that say what to do."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.errors import is_permanent
from pipelines.providers.analytics.base import AnalyticsRefused, RetentionPoint, TrafficRow
from pipelines.providers.analytics.youtube import YouTubeAnalytics
from pipelines.providers.google import ChannelToken, OAuthClient, TokenRevoked
from tests.helpers.fake_youtube import FakeYouTube
from tests.helpers.fake_youtube_analytics import sample_daily, sample_retention
from tests.helpers.publish import MemoryLedger

CHANNEL = "UCscience000000000000001"
START, END = date(2030, 1, 1), date(2030, 1, 31)


@pytest.fixture
def fake():
    with FakeYouTube() as f:
        yield f


def provider(fake, token: str, ledger=None) -> YouTubeAnalytics:
    cfg = fake.client_config()["installed"]
    client = OAuthClient(
        "main", cfg["client_id"], cfg["client_secret"], cfg["token_uri"], cfg["auth_uri"], fake.url
    )
    return YouTubeAnalytics(
        client, ChannelToken(token), ledger or MemoryLedger(), channel="science_en", backoff=lambda n: 0.01
    )


def test_days_retention_and_traffic_come_back_as_typed_rows(fake):
    token = fake.add_channel(CHANNEL, "Science, Explained")
    vid = fake.add_video(CHANNEL)
    figures = sample_daily(START, 5, seconds=300)
    fake.set_analytics(
        vid, daily=figures, retention=sample_retention(), traffic={"SHORTS": 12, "YT_SEARCH": 90}
    )
    ledger = MemoryLedger()
    yt = provider(fake, token, ledger)

    days = yt.daily(vid, date(2030, 1, 2), END)
    curve = yt.retention(vid, START, END)

    assert [d.day for d in days] == [date(2030, 1, n) for n in (2, 3, 4, 5)]
    assert days[0].views == figures[date(2030, 1, 2)]["views"] and isinstance(days[0].views, int)
    assert days[0].average_view_percentage == pytest.approx(
        figures[date(2030, 1, 2)]["averageViewPercentage"]
    )
    assert len(curve) == 100 and curve[0] == RetentionPoint(*sample_retention()[0])
    assert yt.traffic(vid, START, END) == [TrafficRow("YT_SEARCH", 90), TrafficRow("SHORTS", 12)]
    assert ledger.methods() == ["reports.query"] * 3


def test_an_empty_report_is_an_empty_list(fake):
    token = fake.add_channel(CHANNEL, "Science, Explained")
    vid = fake.add_video(CHANNEL)  # published, no data yet
    yt = provider(fake, token)
    assert yt.daily(vid, START, END) == [] and yt.retention(vid, START, END) == []
    assert yt.traffic(vid, START, END) == []
    raw = yt.call(
        "reports.query",
        yt.service.reports().query(
            ids="channel==MINE", startDate="2030-01-01", endDate="2030-01-31", metrics="views,likes",
            dimensions="day", filters=f"video=={vid}",
        ),
    )  # fmt: skip
    assert raw["kind"] == "youtubeAnalytics#resultTable" and "rows" not in raw  # Google leaves it out
    assert raw["columnHeaders"] == [
        {"name": "day", "columnType": "DIMENSION", "dataType": "STRING"},
        {"name": "views", "columnType": "METRIC", "dataType": "INTEGER"},
        {"name": "likes", "columnType": "METRIC", "dataType": "INTEGER"},
    ]


def test_counts_ask_fifty_ids_a_call(fake):
    token = fake.add_channel(CHANNEL, "Science, Explained")
    ids = [fake.add_video(CHANNEL, viewCount=n, likeCount=1) for n in range(60)]
    ledger = MemoryLedger()
    counts = provider(fake, token, ledger).counts(ids)
    assert sorted(c.views for c in counts) == list(range(60))
    assert ledger.methods() == ["videos.list", "videos.list"]


def test_a_503_is_retried(fake):
    token = fake.add_channel(CHANNEL, "Science, Explained")
    vid = fake.add_video(CHANNEL)
    fake.set_analytics(vid, daily=sample_daily(START, 2))
    fake.fail_next("reports", 503)
    ledger = MemoryLedger()
    assert len(provider(fake, token, ledger).daily(vid, START, END)) == 2
    assert [ok for _, ok, _ in ledger.calls] == [False, True]


def test_a_channel_without_analytics_is_refused_for_good_with_what_to_do(fake):
    token = fake.add_channel(CHANNEL, "Science, Explained")
    vid = fake.add_video(CHANNEL)
    fake.analytics_forbidden.add(CHANNEL)
    with pytest.raises(AnalyticsRefused) as refused:
        provider(fake, token).daily(vid, START, END)
    assert refused.value.status == 403 and is_permanent(refused.value)
    assert "nicheflow youtube connect science_en" in str(refused.value)
    assert sum(r.path == "/v2/reports" for r in fake.requests) == 1  # not retried


def test_insufficient_permissions_is_refused_too(fake):
    token = fake.add_channel(CHANNEL, "Science, Explained")
    fake.fail_next("reports", 403, "insufficientPermissions")
    with pytest.raises(AnalyticsRefused, match="insufficientPermissions"):
        provider(fake, token).daily(fake.add_video(CHANNEL), START, END)


def test_a_revoked_token(fake):
    token = fake.add_channel(CHANNEL, "Science, Explained")
    fake.revoke(token)
    ledger = MemoryLedger()
    with pytest.raises(TokenRevoked, match="analytics are skipped"):
        provider(fake, token, ledger).daily("x", START, END)
    assert ledger.calls == []  # the refused refresh never reached the API


def test_the_fake_refuses_a_video_day_report_as_google_does(fake):
    token = fake.add_channel(CHANNEL, "Science, Explained")
    yt = provider(fake, token)
    request = yt.service.reports().query(
        ids="channel==MINE",
        startDate="2030-01-01",
        endDate="2030-01-31",
        metrics="views",
        dimensions="video,day",
    )
    with pytest.raises(Exception, match="not supported"):
        yt.call("reports.query", request)
