"""End to end on the real Airflow stack with `publish.provider: youtube`: the real google-api-python-client
and google-auth in the task processes talk to a local server that speaks YouTube's protocols
(tests.helpers.fake_youtube), with the channel's token and the project's OAuth client stored as Airflow
connections through Airflow's REST API.

One production of science_en shows the whole path: the day's quota is spent when the final review is
approved, so the publish task waits deferred (no worker slot) until midnight Pacific (the test then shifts
the project's clock past it instead of waiting); after the reset it uploads, is SIGKILLed half-way and retried by Airflow, which continues
the same upload session; the server then holds exactly one video, with the reviewed listing, its thumbnail,
captions and playlist item, and the Short goes up with a link to it. Running the publish task once more
uploads nothing."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta

import psutil
import pytest

from pipelines import checkpoints, clock, quota, uploads
from pipelines.db import connect
from pipelines.local.cli import main as cli
from pipelines.local.demo import production_of, wait_run
from tests.helpers import wait_for
from tests.helpers.fake_youtube import FakeYouTube, store_connections

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CHANNEL = "UCscience000000000000001"
CHUNK = 256 * 1024
RUN_TIMEOUT = 1200


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """The local YouTube, and a clock shift file every stack process reads (set before the stack starts)."""
    mp = pytest.MonkeyPatch()
    shift = tmp_path_factory.mktemp("clock") / "shift"
    mp.setenv("NICHEFLOW_CLOCK_SHIFT_FILE", str(shift))
    try:
        with FakeYouTube() as f:
            f.shift_file = shift
            yield f
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def channel_token(fake):
    token = fake.add_channel(CHANNEL, "Science, Explained")
    fake.playlist = fake.add_playlist(CHANNEL, "Space")
    return token


@pytest.fixture(scope="module")
def stack_channel_edits(fake, channel_token) -> dict[str, dict]:
    return {
        "science_en": {
            "publish.provider": "youtube",
            "publish.youtube.project": "main",
            "publish.youtube.channel_id": CHANNEL,
            "publish.youtube.playlists": [fake.playlist],
            "publish.youtube.notify_subscribers": False,
            "publish.youtube.chunk_mib": 0.25,
        }
    }


@pytest.fixture(scope="module")
def stack(airflow_stack, fake, channel_token):
    """The stack, with the OAuth client and the channel's token as Airflow connections (encrypted there)."""
    store_connections(
        airflow_stack.client,
        fake,
        project="main",
        channel="science_en",
        channel_id=CHANNEL,
        channel_title="Science, Explained",
        refresh_token=channel_token,
    )
    return airflow_stack


def shift_clock_to(fake, moment: datetime) -> None:
    """Make every stack process's clock read `moment` now."""
    fake.shift_file.write_text(str((moment - clock.now()).total_seconds() + clock.shift().total_seconds()))


def uploader_pid(fake) -> int | None:
    """The process holding a connection to the fake (the task uploading), other than this one."""
    port = int(fake.url.rstrip("/").rsplit(":", 1)[1])
    for c in psutil.net_connections(kind="tcp"):
        if c.raddr and c.raddr.port == port and c.pid and c.pid != os.getpid() and c.status == "ESTABLISHED":
            return c.pid
    return None


def complete(fake) -> list:
    return [v for v in fake.videos.values() if v.complete]


def test_a_production_waits_for_quota_survives_a_kill_mid_upload_and_goes_up_once(stack, fake, channel_token):
    client = stack.client
    client.wait_for_dag("longform_science_en")
    client.wait_for_dag("shorts_science_en")
    run_id = client.trigger(
        "longform_science_en", {"topic": "The Hubble Space Telescope", "target_seconds": 30}
    )
    seen_states: set[str] = set()
    waiting_pages: list[str] = []
    killed: list[int] = []

    def kill_mid_upload(held: int) -> None:  # runs in the fake's thread, before it answers the chunk
        if not killed and held >= 4 * CHUNK and (pid := uploader_pid(fake)):
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)

    def tick():
        prod = production_of("science_en", run_id)
        if not prod:
            return
        state = client.task_states("longform_science_en", run_id).get("publish") or ""
        if state == "deferred" and state not in seen_states:  # the Review page says it waits, and until when
            with connect() as conn:
                final = checkpoints.latest(conn, prod["id"], "final")
            assert final is not None
            page = client.http.get(f"{stack.url}/review/checkpoints/{final.id}").raise_for_status().text
            waiting_pages.append(page)
            shift_clock_to(fake, quota.next_reset() + timedelta(seconds=5))  # midnight Pacific has come
        seen_states.add(state)
        with connect() as conn:
            waiting = [c for c in checkpoints.pending(conn) if c.production_id == prod["id"]]
        for cp in waiting:
            if cp.stage == "final":  # the day's quota is spent just before midnight Pacific
                shift_clock_to(fake, quota.next_reset() - timedelta(hours=1))
                ledger = quota.Ledger("main", "historia_ptbr")  # another channel of the same project
                for _ in range(24):
                    ledger.record("captions.insert", True)  # 9,600 of 10,000 units: the publish needs 501
                fake.on_chunk = kill_mid_upload
            assert cli(["approve", str(cp.id), "--as", "e2e-reviewer"]) == 0

    assert wait_run(client, stack, "longform_science_en", run_id, RUN_TIMEOUT, on_tick=tick) == "success"
    pid = production_of("science_en", run_id)["id"]

    # it waited deferred for the reset, then was killed once mid-upload and retried by Airflow
    assert "deferred" in seen_states
    assert "waiting for quota" in waiting_pages[0] and "tries again" in waiting_pages[0]
    assert killed
    ti = client.task_instance("longform_science_en", run_id, "publish")
    assert ti["try_number"] >= 2
    log = client.task_log("longform_science_en", run_id, "publish", ti["try_number"])
    assert "uploaded" in log and "youtu.be/" in log
    assert channel_token not in log  # the token is masked, never logged

    [video] = complete(fake)
    with connect() as conn:
        [row] = [u for u in uploads.of_production(conn, pid) if u["kind"] == "longform"]
        final = checkpoints.latest(conn, pid, "final")
    assert row["state"] == "published" and row["video_id"] == video.id
    assert video.size == row["size_bytes"]

    # the listing as reviewed, and everything the notes say to send
    assert final is not None and video.snippet["title"] == final.artifacts.get(
        "title", video.snippet["title"]
    )
    assert video.channel_id == CHANNEL
    assert video.snippet["categoryId"] == "28" and video.snippet["defaultLanguage"] == "en"
    assert video.status["privacyStatus"] == "private"
    assert video.status["publishAt"] == row["publish_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert video.status["containsSyntheticMedia"] is True and video.status["selfDeclaredMadeForKids"] is False
    assert video.notify_subscribers is False
    assert video.thumbnail is not None
    assert [c.language for c in video.captions] == ["en"]
    assert [p["snippet"]["resourceId"]["videoId"] for p in fake.playlist_items] == [video.id]

    # the final checkpoint shows the video's id, link and publish time (REST and page)
    detail = client.http.get(f"{stack.url}/review/api/checkpoints/{final.id}").raise_for_status().json()
    [shown] = [u for u in detail["publishing"] if u["kind"] == "longform"]
    assert (shown["state"], shown["video_id"], shown["url"]) == (
        "published",
        video.id,
        f"https://youtu.be/{video.id}",
    )
    assert datetime.fromisoformat(shown["publish_at"]) == row["publish_at"]
    page = client.http.get(f"{stack.url}/review/checkpoints/{final.id}").raise_for_status().text
    assert f'href="https://youtu.be/{video.id}"' in page

    # the Short goes up on its own, linking the long-form video
    def short_done():
        return [v for v in complete(fake) if v.id != video.id]

    [short] = wait_for("the Short on YouTube", short_done, timeout=RUN_TIMEOUT, every=3)
    assert f"https://youtu.be/{video.id}" in short.snippet["description"]
    assert short.status["privacyStatus"] == "private" and "publishAt" in short.status
    assert fake.bytes_received <= video.size + short.size + CHUNK  # the retry sent at most one chunk again
    with connect() as conn:
        [short_row] = [u for u in uploads.of_production(conn, pid) if u["kind"] == "short"]
    choice = short_row["details"]["choice"]  # why this window: recorded with the upload
    assert choice["score"] is not None and choice["hook"] and choice["sentences"]

    # running the publish task again uploads nothing
    sessions, received = fake.sessions_started, fake.bytes_received
    client.http.post(
        "/dags/longform_science_en/clearTaskInstances",
        json={
            "dag_run_id": run_id,
            "task_ids": ["publish"],
            "include_downstream": False,
            "only_failed": False,
            "reset_dag_runs": True,
            "dry_run": False,
        },
    ).raise_for_status()
    assert wait_run(client, stack, "longform_science_en", run_id, RUN_TIMEOUT) == "success"
    assert (fake.sessions_started, fake.bytes_received) == (sessions, received)
    assert len(complete(fake)) == 2
