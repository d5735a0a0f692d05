"""The operating metrics on the real Airflow stack: /review/metrics scraped over HTTP (the scrape token, a
viewer's Airflow token, 401 otherwise) and parsed with prometheus_client's parser; in headless chromium, the
pending list and the Operations page update without a reload when a decision is made through the API and a
video is published. Screenshots in test-artifacts/operations/."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipelines.db import connect
from pipelines.paths import REPO
from tests.e2e.test_review_browser import browser, login  # noqa: F401  (the browser fixture)
from tests.helpers import metrics_rows

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
SHOTS = REPO / "test-artifacts" / "operations"
TOKEN = "e2e-scrape-token"


@pytest.fixture(scope="module")
def stack_channel_edits():  # the api-server reads the scrape token from its environment
    mp = pytest.MonkeyPatch()
    mp.setenv("NICHEFLOW_METRICS_TOKEN", TOKEN)
    yield {}
    mp.undo()


@pytest.fixture(scope="module")
def seeded(airflow_stack):
    with connect() as conn:
        ids = metrics_rows.seed(conn)
    SHOTS.mkdir(parents=True, exist_ok=True)
    return airflow_stack, ids


def token(stack, user: str) -> str:
    r = httpx.post(
        f"{stack.url}/auth/token", json={"username": user, "password": stack.passwords()[user]}, timeout=30
    )
    return r.raise_for_status().json()["access_token"]


def scrape(stack, auth: str | None) -> httpx.Response:
    return httpx.get(
        f"{stack.url}/review/metrics", headers={"Authorization": auth} if auth else {}, timeout=30
    )


def test_metrics_are_scraped_over_http_with_the_token_or_a_login(seeded):
    stack, _ = seeded
    r = scrape(stack, f"Bearer {TOKEN}")
    assert r.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    assert families["nicheflow_checkpoint_wait_seconds"].type == "summary"
    published = {
        (s.labels["channel"], s.labels["kind"]): s.value
        for s in families["nicheflow_videos_published"].samples
    }
    assert published[("science_en", "longform")] == 3
    latency = {
        (s.labels["provider"], s.labels.get("quantile")): s.value
        for s in families["nicheflow_api_latency_seconds"].samples
        if s.name == "nicheflow_api_latency_seconds"
    }
    assert latency[("groq", "0.95")] == 95
    viewer = scrape(stack, f"Bearer {token(stack, 'viewer')}")
    assert viewer.status_code == 200 and 'channel="historia_ptbr"' in viewer.text
    for auth in (None, "Bearer wrong-token", f"Basic {TOKEN}"):
        refused = scrape(stack, auth)
        assert refused.status_code == 401, auth
        assert "nicheflow_" not in refused.text


def test_pages_update_without_a_reload(seeded, browser):  # noqa: F811
    stack, ids = seeded
    page = login(browser, stack, "viewer")
    page.goto(f"{stack.url}/review/")
    row = page.locator(f'#live-checkpoints a[href$="/checkpoints/{ids["pending"]}"]').first
    row.wait_for()
    page.evaluate("window.__notReloaded = true")
    ops = page.context.new_page()
    ops.goto(f"{stack.url}/review/operations")
    pending = ops.locator('#ops-table tr[data-channel="science_en"] [data-metric="pending"]')
    published = ops.locator('#ops-table tr[data-channel="science_en"] [data-metric="published"]')
    assert pending.inner_text().strip() == "1" and published.inner_text().startswith("4")
    assert ops.locator("svg.bar-chart").count() == 2 and ops.locator("svg.line-chart").count() == 1
    ops.screenshot(path=str(SHOTS / "1-operations.png"), full_page=True)
    ops.evaluate("window.__notReloaded = true")

    decided = httpx.post(
        f"{stack.url}/review/api/checkpoints/{ids['pending']}/decision",
        headers={"Authorization": f"Bearer {token(stack, 'reviewer')}"},
        json={"decision": "approved"},
        timeout=30,
    )
    assert decided.status_code == 200, decided.text
    with connect() as conn:  # and a video is published meanwhile
        conn.execute(
            "UPDATE productions SET status = 'published', updated_at = now() WHERE id = %s",
            (ids["sci_running"],),
        )

    row.wait_for(state="detached", timeout=15_000)  # gone from the pending list, within a few seconds
    assert page.evaluate("window.__notReloaded") is True
    page.screenshot(path=str(SHOTS / "0-pending-list-updated.png"), full_page=True)
    ops.wait_for_function(
        """() => {
          const row = document.querySelector('#ops-table tr[data-channel="science_en"]');
          return row && row.querySelector('[data-metric="pending"]').innerText.trim() === "0"
            && row.querySelector('[data-metric="published"]').innerText.startsWith("5");
        }""",
        timeout=15_000,
    )
    assert ops.evaluate("window.__notReloaded") is True
    ops.screenshot(path=str(SHOTS / "2-operations-updated.png"), full_page=True)
