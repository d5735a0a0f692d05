"""The Analytics pages' and the content calendar's views (analytics_views, calendar_views) on real rows in
PostgreSQL, and their templates rendered to HTML: figures summed from video_daily, near-real-time counts for
young videos, the last pull, "no data yet" for an outbox channel, retention with segment markers, and the
calendar across time zones (a São Paulo and a London channel on the same day)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipelines.db import connect
from pipelines.paths import REPO
from tests.helpers import analytics_rows as rows

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; pytest does not

from nicheflow_airflow import analytics_views, calendar_views  # noqa: E402
from nicheflow_airflow.calendar_views import ChannelSlots  # noqa: E402

NOW = datetime(2031, 3, 4, 12, 0, tzinfo=UTC)
LONDON, SAO_PAULO = ZoneInfo("Europe/London"), ZoneInfo("America/Sao_Paulo")
SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Me:
    name: str = "viewer"


def render(name: str, **ctx) -> str:
    from nicheflow_airflow.review_pages import templates

    return templates.get_template(name).render(base="/review", me=Me(), **ctx)


@pytest.fixture
def science(database):
    """science_en on YouTube: an old long-form video with 7 days of figures and a retention curve, its Short,
    a video published yesterday (only near-real-time counts), one scheduled, and two pulls."""
    with connect() as conn:
        p1 = rows.production(conn, "science_en", "The Apollo 11 Moon landing")
        rows.upload(
            conn,
            "science_en",
            p1,
            "longform",
            "vidLF1",
            NOW - timedelta(days=10),
            details={"duration": 120.0, "title": "Apollo 11 <in> 2 minutes"},
        )
        rows.daily(
            conn, "science_en", "vidLF1", (NOW - timedelta(days=9)).date(), [100, 300, 0, 200], avg_pct=40
        )
        rows.retention(conn, "science_en", "vidLF1", rows.retention_curve())
        rows.upload(
            conn, "science_en", p1, "short", "vidSH1", NOW - timedelta(days=9), details={"duration": 30}
        )
        rows.daily(conn, "science_en", "vidSH1", (NOW - timedelta(days=8)).date(), [50, 50])
        p2 = rows.production(conn, "science_en", "The Voyager probes")
        rows.upload(conn, "science_en", p2, "longform", "vidLF2", NOW - timedelta(days=1))
        rows.counts(conn, "science_en", "vidLF2", NOW - timedelta(hours=6), 40, 2, 0)
        rows.counts(conn, "science_en", "vidLF2", NOW - timedelta(hours=1), 75, 6, 1)
        rows.counts(conn, "science_en", "vidLF1", NOW - timedelta(hours=1), 999, 9, 9)  # too old to show
        p3 = rows.production(conn, "science_en", "The Hubble Space Telescope")
        rows.upload(conn, "science_en", p3, "longform", "vidLF3", NOW + timedelta(days=2), state="uploaded")
        rows.pull(
            conn, "science_en", NOW - timedelta(days=1, hours=1), "skipped", 0, "analytics answered 403"
        )
        rows.pull(conn, "science_en", NOW - timedelta(hours=1), "ok", 3)
        rows.production(conn, "historia_ptbr", "A Independência do Brasil")
    return database


def test_channel_view_sums_each_video_and_marks_young_ones(science):
    with connect() as conn:
        view = analytics_views.channel_view(conn, "science_en", "youtube", now=NOW)
    by_id = {v["video_id"]: v for v in view["videos"]}
    assert list(by_id) == ["vidLF3", "vidLF2", "vidSH1", "vidLF1"]  # newest first
    lf1 = by_id["vidLF1"]
    assert (lf1["views"], lf1["engaged_views"], lf1["likes"], lf1["days"]) == (600, 480, 60, 4)
    assert lf1["minutes_watched"] == pytest.approx(450.0)
    assert lf1["avg_percentage"] == pytest.approx(40.0) and lf1["avg_duration"] == pytest.approx(45.0)
    assert lf1["title"] == "Apollo 11 <in> 2 minutes" and lf1["near_real_time"] is None  # 10 days old
    assert by_id["vidSH1"]["title"] == "The Apollo 11 Moon landing (Short 1)"
    young = by_id["vidLF2"]
    assert young["young"] and young["days"] is None
    assert young["near_real_time"]["views"] == 75  # the latest count, not the first
    assert by_id["vidLF3"]["scheduled"]
    assert view["totals"]["views"] == 700 and view["has_data"]
    assert view["last_pull"]["outcome"] == "ok"

    chart = ET.fromstring(view["chart"])
    series = {g.get("data-series"): g for g in chart.iter(f"{SVG}g") if g.get("class") == "series"}
    assert list(series) == ["long-form", "Shorts"]
    (line,) = series["Shorts"].iter(f"{SVG}polyline")
    shorts = line.get("points").split()
    assert len(shorts) == 4  # Feb 23 to Feb 26, as the long-form video: the Shorts' missing days are 0
    assert shorts[0].split(",")[1] == shorts[-1].split(",")[1] == "216.0"  # on the axis

    html = render("analytics.html", view=view, channels=["historia_ptbr", "science_en"], channel="science_en")
    assert html.count('<tr data-video="') == 4
    assert "Apollo 11 &lt;in&gt; 2 minutes" in html and "<in>" not in html
    row = html[html.index('data-video="vidLF2"') :].split("</tr>")[0]
    assert "near-real-time" in row and "75 views" in row
    row = html[html.index('data-video="vidLF1"') :].split("</tr>")[0]
    assert ">600<" in row and ">40%<" in row and "0:45" in row and "near-real-time" not in row
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart line-chart"' in html
    assert "no-data" not in html


def test_an_outbox_channel_has_no_data_yet_and_says_why(science):
    with connect() as conn:
        view = analytics_views.channel_view(conn, "historia_ptbr", "outbox", now=NOW)
    assert (
        view["videos"] == [] and not view["has_data"] and view["chart"] is None and view["last_pull"] is None
    )
    html = render("analytics.html", view=view, channels=["historia_ptbr"], channel="historia_ptbr")
    assert (
        "No data yet." in html
        and "analytics need the YouTube" in html
        and "publish.provider: youtube" in html
    )


def test_a_skipped_pull_shows_its_message(science):
    with connect() as conn:
        rows.pull(
            conn, "science_en", NOW, "skipped", 0, "the token was revoked: run nicheflow youtube connect"
        )
        view = analytics_views.channel_view(conn, "science_en", "youtube", now=NOW)
    html = render("analytics.html", view=view, channels=["science_en"], channel="science_en")
    pull = html[html.index('id="last-pull"') :].split("</section>")[0]
    assert "skipped" in pull and "the token was revoked" in pull


def test_video_view_draws_retention_with_segment_boundaries(science):
    bounds = [(0.0, "Intro"), (20.0, "The crew"), (65.0, "The landing")]
    with connect() as conn:
        view = analytics_views.video_view(conn, "science_en", "vidLF1", bounds, now=NOW)
        plain = analytics_views.video_view(conn, "science_en", "vidLF1", now=NOW)
        assert analytics_views.video_view(conn, "historia_ptbr", "vidLF1", now=NOW) is None  # not its video
    assert len(view["retention"]) == 100 and [d["views"] for d in view["days"]] == [200, 0, 300, 100]
    svg = ET.fromstring(view["retention_chart"])
    marks = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "boundary"]
    assert [m.get("data-seconds") for m in marks] == ["0", "20", "65"]
    assert [m.find(f"{SVG}text").text for m in marks] == ["Intro", "The crew", "The landing"]
    assert "3 segment boundaries" in svg.find(f"{SVG}desc").text
    assert not [
        g for g in ET.fromstring(plain["retention_chart"]).iter(f"{SVG}g") if g.get("class") == "boundary"
    ]
    html = render("analytics_video.html", view=view, channel="science_en")
    assert "retention-chart" in html and html.count('class="boundary"') == 3
    assert "1:05" in html  # the boundary list, in m:ss


@pytest.fixture
def two_zones(database, tmp_path):
    """March 4 2031: London (UTC+0 in March) and São Paulo (UTC-3) both publish at 18:00 local; São Paulo also
    has a Short at 22:30 local, which is already March 5 in UTC. London is on YouTube, São Paulo on the outbox."""
    day = date(2031, 3, 4)
    with connect() as conn:
        p_en = rows.production(conn, "science_en", "The Apollo 11 Moon landing")
        rows.upload(
            conn,
            "science_en",
            p_en,
            "longform",
            "vidEN",
            datetime.combine(day, time(18), LONDON),
            state="uploaded",
            details={"title": "Apollo 11"},
        )
        p_pt = rows.production(conn, "historia_ptbr", "Santos Dumont e o voo do 14-bis")
        flying = rows.production(conn, "historia_ptbr", "A Independência do Brasil", status="running")
        rows.pending(conn, "historia_ptbr", flying, "script")
        rows.production(conn, "science_en", "The Voyager probes", status="running")  # a stage is working
    outbox = tmp_path / "outbox"
    rows.outbox_item(
        outbox / "historia_ptbr",
        "historia_ptbr",
        p_pt,
        "longform",
        "O voo do 14-bis",
        datetime.combine(day, time(18), SAO_PAULO),
    )
    rows.outbox_item(
        outbox / "historia_ptbr",
        "historia_ptbr",
        p_pt,
        "short",
        "14-bis em 30 segundos",
        datetime.combine(day, time(22, 30), SAO_PAULO),
    )
    channels = [
        ChannelSlots("science_en", "Europe/London", "youtube", time(18), time(12)),
        ChannelSlots("historia_ptbr", "America/Sao_Paulo", "outbox", time(18), time(12, 30)),
    ]
    return channels, lambda ch: outbox / ch


def day_of(cal: dict, d: date) -> dict:
    return next(x for w in cal["weeks"] for x in w if x["date"] == d)


def test_calendar_in_utc_places_both_18_00_slots_on_the_same_day(two_zones):
    channels, outbox = two_zones
    now = datetime(2031, 3, 3, 15, tzinfo=UTC)  # Monday
    with connect() as conn:
        cal = calendar_views.calendar_view(
            conn, channels, start=date(2031, 3, 5), weeks=1, zone="UTC", now=now, outbox=outbox
        )
    assert cal["start"] == date(2031, 3, 3) and cal["end"] == date(2031, 3, 9)  # Monday to Sunday
    tue = day_of(cal, date(2031, 3, 4))
    assert [(s["time"], s["channel"], s["kind"], s["local"], s["state"]) for s in tue["slots"]] == [
        ("18:00", "science_en", "longform", "18:00 London", "scheduled"),
        ("21:00", "historia_ptbr", "longform", "18:00 Sao Paulo", "in outbox"),
    ]
    wed = day_of(cal, date(2031, 3, 5))
    assert [(s["time"], s["local"], s["title"]) for s in wed["slots"]] == [
        (
            "01:30",
            "22:30 Tue Mar 04 Sao Paulo",
            "14-bis em 30 segundos",
        )  # Tuesday night local = Wednesday UTC
    ]
    mon = day_of(cal, date(2031, 3, 3))
    assert mon["today"] and mon["empty"] and mon["empty_label"] == "nothing scheduled"
    assert [(p["channel"], p["waits_at"]) for p in mon["in_flight"]] == [
        ("historia_ptbr", "script"),
        ("science_en", None),
    ]
    assert [d["date"].day for w in cal["weeks"] for d in w if d["empty"]] == [3, 6, 7, 8, 9]

    html = render(
        "calendar.html",
        cal=cal,
        zones=["UTC"],
        channels=["historia_ptbr", "science_en"],
        filters={"channel": "", "tz": "UTC", "weeks": 1},
    )
    cell = html[html.index('data-date="2031-03-04"') :].split('role="gridcell"')[0]
    assert cell.index("Apollo 11") < cell.index("O voo do 14-bis") and "(18:00 Sao Paulo)" in cell
    assert html.count("nothing scheduled") == 5 and "waits at script" in html


def test_calendar_in_another_zone_moves_the_slots(two_zones):
    channels, outbox = two_zones
    now = datetime(2031, 3, 3, 15, tzinfo=UTC)
    with connect() as conn:
        sp = calendar_views.calendar_view(
            conn, channels, start=date(2031, 3, 3), weeks=1, zone="America/Sao_Paulo", now=now, outbox=outbox
        )
        tokyo = calendar_views.calendar_view(
            conn, channels, start=date(2031, 3, 3), weeks=1, zone="Asia/Tokyo", now=now, outbox=outbox
        )
        london_only = calendar_views.calendar_view(
            conn, channels[:1], start=date(2031, 3, 3), weeks=1, now=now, outbox=outbox
        )
    assert [(s["time"], s["local"]) for s in day_of(sp, date(2031, 3, 4))["slots"]] == [
        ("15:00", "18:00 London"),
        ("18:00", "18:00 Sao Paulo"),
        ("22:30", "22:30 Sao Paulo"),  # the same day as its channel's, seen from its own zone
    ]
    assert day_of(tokyo, date(2031, 3, 4))["empty"]
    assert [(s["time"], s["local"]) for s in day_of(tokyo, date(2031, 3, 5))["slots"]] == [
        ("03:00", "18:00 Tue Mar 04 London"),
        ("06:00", "18:00 Tue Mar 04 Sao Paulo"),
        ("10:30", "22:30 Tue Mar 04 Sao Paulo"),
    ]
    assert london_only["slots"] == 1 and {p["channel"] for p in london_only["in_flight"]} == {"science_en"}


def test_calendar_in_summer_follows_london_summer_time(database, tmp_path):
    with connect() as conn:
        p = rows.production(conn, "science_en", "Summer")
        rows.upload(conn, "science_en", p, "short", "vidS", datetime(2031, 7, 1, 12, tzinfo=LONDON))
        cal = calendar_views.calendar_view(
            conn,
            [ChannelSlots("science_en", "Europe/London", "youtube")],
            start=date(2031, 7, 1),
            weeks=1,
            now=datetime(2031, 7, 10, tzinfo=UTC),
            outbox=lambda ch: tmp_path / ch,
        )
    (slot,) = day_of(cal, date(2031, 7, 1))["slots"]
    assert (slot["time"], slot["local"], slot["state"], slot["kind_label"]) == (
        "11:00",
        "12:00 London",
        "published",
        "Short",
    )
    assert day_of(cal, date(2031, 7, 2))["empty_label"] == "nothing published"  # a past day


def test_a_published_videos_page_maps_retention_onto_its_script_and_shows_its_cost(
    database, data_dir, configs
):
    from pipelines import costs
    from tests.helpers.audience import curve, piecewise, publish

    segments = [
        ("Introduction", [("Apollo 11.", 0.0, 3.0, [])]),
        ("Launch", [("Apollo 11 launched on July 16, 1969.", 4.0, 29.0, [1])]),
        ("The crew", [("The crew were Neil Armstrong, Buzz Aldrin and Michael Collins.", 30.0, 59.0, [2])]),
        ("Sources and closing", [("The sources are listed in the description.", 60.0, 89.0, [])]),
    ]
    with connect() as conn:
        pid = publish(
            conn, "science_en", "Apollo 11", segments, video_id="vidAP11", narration=90.0, intro=5.0
        )
        curve(conn, "science_en", "vidAP11", 95.0, piecewise((0, 1.0), (35, 0.9), (65, 0.5), (95, 0.4)))
        costs.record(conn, pid, "script:r1:llm", "llm", "groq", 1900, "tokens", 0.0021)
        costs.record(conn, pid, "audio:r1:tts", "tts", "espeak", 1200, "characters")
        view = analytics_views.video_view(conn, "science_en", "vidAP11", now=NOW)
        channel = analytics_views.channel_view(conn, "science_en", "youtube", now=NOW)
    month = channel["costs"]
    assert view is not None
    # the script's segments on the curve (after the 5 s intro clip), and where viewers left in words
    assert [label for _, label in view["boundaries"]][:3] == [
        "intro clip",
        "segment 1, 'Introduction'",
        "segment 2, 'Launch'",
    ]
    assert view["boundaries"][2][0] == pytest.approx(9.0)
    assert any("left during segment 3, 'The crew'" in line for line in view["where_left"])
    html = render("analytics_video.html", view=view, channel="science_en")
    assert 'id="where-left"' in html and "The crew" in html
    assert "What the production cost: $0.0021" in html and "espeak" in html
    assert [(m.videos, m.total_usd) for m in month] == [(1, 0.0021)]
    page = render("analytics.html", view=channel, channels=["science_en"], channel="science_en")
    costs_table = page[page.index('id="costs"') :].split("</section>")[0]
    assert "llm: 1,900 tokens ($0.0021)" in costs_table and "tts: 1,200 characters" in costs_table
