"""The Analytics pages and the content calendar in a real headless browser on the real Airflow stack (the
api-server serving the Review plugin, Airflow's own login), with rows seeded as the analytics pull, the
publish stage and the outbox leave them. Screenshots are saved in test-artifacts/analytics/."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipelines.db import connect
from pipelines.paths import REPO, outbox_dir
from tests.e2e.test_review_browser import browser, login  # noqa: F401  (the browser fixture)
from tests.helpers import analytics_rows as rows

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
SHOTS = REPO / "test-artifacts" / "analytics"


@pytest.fixture(scope="module")
def stack_channel_edits():  # science_en publishes to YouTube (nothing is published here: rows are seeded)
    return {"science_en": {"publish.provider": "youtube", "publish.youtube.project": "nicheflow_test"}}


@pytest.fixture(scope="module")
def seeded(airflow_stack):
    now = datetime.now(UTC)
    london, sao_paulo = ZoneInfo("Europe/London"), ZoneInfo("America/Sao_Paulo")
    today = now.date()
    with connect() as conn:
        p1 = rows.production(conn, "science_en", "The Apollo 11 Moon landing")
        rows.upload(
            conn,
            "science_en",
            p1,
            "longform",
            "vidLF1",
            datetime.combine(today - timedelta(days=12), time(17), london),
            details={"duration": 95.0, "title": "Apollo 11 in 90 seconds"},
        )
        rows.daily(
            conn, "science_en", "vidLF1", today - timedelta(days=11), [120, 340, 280, 190, 150, 90, 70, 60]
        )
        rows.retention(conn, "science_en", "vidLF1", rows.retention_curve())
        rows.upload(
            conn,
            "science_en",
            p1,
            "short",
            "vidSH1",
            datetime.combine(today - timedelta(days=11), time(12), london),
            details={"duration": 28.0},
        )
        rows.daily(conn, "science_en", "vidSH1", today - timedelta(days=10), [400, 650, 300, 120, 80, 40, 30])
        p2 = rows.production(conn, "science_en", "The Voyager probes")
        rows.upload(conn, "science_en", p2, "longform", "vidLF2", now - timedelta(days=1))
        rows.counts(conn, "science_en", "vidLF2", now - timedelta(hours=2), 85, 7, 2)
        p3 = rows.production(conn, "science_en", "The Hubble Space Telescope")
        rows.upload(
            conn,
            "science_en",
            p3,
            "longform",
            "vidLF3",
            datetime.combine(today + timedelta(days=2), time(17), london),
            state="uploaded",
        )
        rows.pull(conn, "science_en", now - timedelta(hours=3), "ok", 4)
        flying = rows.production(conn, "science_en", "The James Webb telescope", status="running")
        rows.pending(conn, "science_en", flying, "audio")
        p_pt = rows.production(conn, "historia_ptbr", "Santos Dumont e o voo do 14-bis")
    box = outbox_dir("historia_ptbr")
    rows.outbox_item(
        box,
        "historia_ptbr",
        p_pt,
        "longform",
        "O voo do 14-bis",
        datetime.combine(today + timedelta(days=1), time(18), sao_paulo),
    )
    rows.outbox_item(
        box,
        "historia_ptbr",
        p_pt,
        "short",
        "14-bis em 30 segundos",
        datetime.combine(today + timedelta(days=2), time(12, 30), sao_paulo),
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    return airflow_stack


def test_analytics_and_calendar_pages_in_the_browser(seeded, browser):  # noqa: F811
    stack = seeded
    page = login(browser, stack, "viewer")
    page.goto(f"{stack.url}/review/")
    page.get_by_role("link", name="Analytics", exact=True).click()
    page.wait_for_url("**/review/analytics/**")  # the first channel the viewer may see
    page.goto(f"{stack.url}/review/analytics/science_en")
    page.locator("#videos").wait_for()
    assert page.locator("#videos tbody tr").count() == 4
    chart = page.locator("svg.line-chart")
    assert chart.is_visible() and chart.locator("polyline").count() == 2  # long-form and Shorts
    row = page.locator('tr[data-video="vidLF2"]')
    assert "near-real-time" in row.inner_text() and "85 views" in row.inner_text()
    assert "1,300" in page.locator('tr[data-video="vidLF1"]').inner_text()  # its 8 days summed
    assert "ok" in page.locator("#last-pull").inner_text()
    page.screenshot(path=str(SHOTS / "1-analytics-channel.png"), full_page=True)

    page.get_by_role("link", name="Apollo 11 in 90 seconds").click()
    page.locator("svg.retention-chart").wait_for()
    assert page.locator("svg.retention-chart polyline").is_visible()
    # announced by its title (aria-labelledby), as a screen reader would find it
    assert page.get_by_role("img", name=re.compile("^Audience retention: Apollo 11")).is_visible()
    page.screenshot(path=str(SHOTS / "2-analytics-video.png"), full_page=True)

    page.goto(f"{stack.url}/review/analytics/historia_ptbr")
    assert "analytics need the YouTube" in page.locator("#no-data").inner_text()

    start = (datetime.now(UTC) - timedelta(days=14)).date()  # from the Monday before: all seeded slots
    page.goto(f"{stack.url}/review/calendar?start={start}&weeks=4")
    page.locator("#calendar").wait_for()
    assert page.locator('.slot[data-channel="historia_ptbr"]').count() == 2  # from the outbox
    assert page.locator('.slot[data-channel="science_en"]').count() == 4
    assert page.locator("#in-flight").get_by_text("audio review").is_visible()
    assert page.locator(".day.empty").count() > 0
    page.screenshot(path=str(SHOTS / "3-calendar-utc.png"), full_page=True)
    page.locator("#tz").select_option("America/Sao_Paulo")
    page.wait_for_url("**tz=America%2FSao_Paulo**")
    assert page.locator("#display-zone").inner_text() == "America/Sao_Paulo"
    short = page.locator('.slot[data-channel="historia_ptbr"].short')
    assert short.locator(".t").inner_text() == "12:30"  # its own zone: local time = display time
    page.screenshot(path=str(SHOTS / "4-calendar-sao-paulo.png"), full_page=True)
