"""The Review page in a real headless browser (Debian's chromium driven by Playwright) on the real Airflow
stack: log in through Airflow's own login page, decide each of the four stages from the page (with edits
at script, b-roll and final) and see the DAG run continue to the outbox; a viewer sees but cannot decide.
Screenshots of every stage's page are saved in test-artifacts/review/."""

from __future__ import annotations

import pytest

from pipelines import checkpoints
from pipelines.db import connect
from pipelines.files import read_json
from pipelines.local.demo import production_of, wait_run
from pipelines.paths import REPO, outbox_dir
from tests.helpers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
SHOTS = REPO / "test-artifacts" / "review"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def login(browser, stack, user: str):
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.goto(f"{stack.url}/auth/login?next=/review/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(stack.passwords()[user])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda u: "/auth/login" not in u, timeout=30_000)
    return page


def pending_of(channel: str, run_id: str, stage: str):
    def find():
        prod = production_of(channel, run_id)
        if not prod:
            return None
        with connect() as conn:
            return next(
                (c for c in checkpoints.pending(conn) if c.production_id == prod["id"] and c.stage == stage),
                None,
            )

    return wait_for(f"the {stage} checkpoint of {run_id}", find, timeout=600, every=2)


def open_checkpoint(page, stack, cp, shot: str):
    page.goto(f"{stack.url}/review/checkpoints/{cp.id}")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / shot), full_page=True)


def test_reviewer_decides_every_stage_in_the_browser(airflow_stack, browser):
    stack = airflow_stack
    stack.client.wait_for_dag("longform_science_en")
    run_id = stack.client.trigger(
        "longform_science_en", {"topic": "The Hubble Space Telescope", "target_seconds": 30}
    )
    page = login(browser, stack, "reviewer")

    script = pending_of("science_en", run_id, "script")
    page.goto(f"{stack.url}/review/")
    page.get_by_text("The Hubble Space Telescope").first.wait_for()
    page.screenshot(path=str(SHOTS / "0-pending-list.png"), full_page=True)

    open_checkpoint(page, stack, script, "1-script.png")
    assert page.locator(".cite q").count() >= 2  # factual sentences shown next to the facts they cite
    page.locator('textarea[name="sentence.0.1"]').fill("Here is the story of Hubble, fact by fact.")
    page.locator("#approve-edits").click()
    page.get_by_text("Approved.").wait_for()

    audio = pending_of("science_en", run_id, "audio")
    open_checkpoint(page, stack, audio, "2-audio.png")
    assert page.locator("audio").count() >= 2  # the whole narration and each segment
    page.locator("#approve").click()
    page.get_by_text("Approved.").wait_for()

    broll = pending_of("science_en", run_id, "broll")
    open_checkpoint(page, stack, broll, "3-broll.png")
    page.locator('input[name="choice.1"][value="2"]').check()
    page.locator("#approve-edits").click()
    page.get_by_text("Approved.").wait_for()

    final = pending_of("science_en", run_id, "final")
    open_checkpoint(page, stack, final, "4-final.png")
    assert page.locator("video").count() == 1
    page.locator("#title").fill("Hubble in 30 seconds")
    page.locator('input[name="thumbnail"][value="1"]').check()
    page.locator("#approve-edits").click()
    page.get_by_text("Approved.").wait_for()
    page.screenshot(path=str(SHOTS / "5-final-decided.png"), full_page=True)

    # a second submit of an already decided checkpoint is refused on the page, with no second decision
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    response = page.request.post(
        f"{stack.url}/review/checkpoints/{final.id}/decide",
        form={"checkpoint_id": str(final.id), "revision": "1", "action": "approve", "csrf_token": csrf},
    )
    assert response.status == 409 and "already decided" in response.text()

    assert wait_run(stack.client, stack, "longform_science_en", run_id, 900) == "success"
    prod = production_of("science_en", run_id)
    meta = read_json(outbox_dir("science_en") / f"{prod['id']:05d}-longform" / "metadata.json")
    assert meta["title"] == "Hubble in 30 seconds"  # what the reviewer typed is what was published
    with connect() as conn:
        decided = checkpoints.history(conn, prod["id"])
    assert [(c.stage, c.status, c.reviewer) for c in decided] == [
        ("script", "approved", "reviewer"),
        ("audio", "approved", "reviewer"),
        ("broll", "approved", "reviewer"),
        ("final", "approved", "reviewer"),
    ]
    assert decided[0].edits == {"sentences": {"0.1": "Here is the story of Hubble, fact by fact."}}
    assert decided[2].edits == {"choices": {"1": 2}}


def test_viewer_sees_but_cannot_decide(airflow_stack, browser):
    stack = airflow_stack
    stack.client.wait_for_dag("longform_historia_ptbr")
    run_id = stack.client.trigger("longform_historia_ptbr", {"topic": "", "target_seconds": 30})
    cp = pending_of("historia_ptbr", run_id, "script")
    page = login(browser, stack, "viewer")
    open_checkpoint(page, stack, cp, "6-viewer-script.png")
    assert page.locator("#approve").count() == 0  # no decision form for a viewer
    assert page.get_by_role("button", name="Approve").first.is_disabled()
    response = page.request.post(
        f"{stack.url}/review/api/checkpoints/{cp.id}/decision", data={"decision": "approved"}
    )
    assert response.status == 403
    with connect() as conn:
        assert checkpoints.get(conn, cp.id).status == "pending"  # nothing changed
        checkpoints.decide(conn, cp.id, "rejected", "test cleanup", "end of the viewer test")
