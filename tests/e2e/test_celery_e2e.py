"""CeleryExecutor on the real stack: a local Redis as the broker (Debian's redis-server), and two "machines"
of Celery workers: machine-a serves the default queue, machine-b only the render queue (concurrency 1).
One production goes through the real scheduler, its checkpoints approved through the CLI: every render (the
final video, its re-render at review, the Shorts) runs on machine-b and everything else on machine-a; the
video, the Short and the publish outcome are checked."""

from __future__ import annotations

import time

import pytest

from pipelines import checkpoints
from pipelines.db import connect
from pipelines.local.cli import main as cli
from pipelines.local.demo import production_of, wait_run
from pipelines.media.ffmpeg import probe
from pipelines.paths import outbox_dir
from tests.helpers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
RENDERING = {"final", "review_final", "shorts"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, request):
    mp = pytest.MonkeyPatch()
    mp.setenv("NICHEFLOW_EXECUTOR", "celery")
    mp.setenv("NICHEFLOW_WORKERS", "0")  # this test starts its machines itself
    mp.setenv("NICHEFLOW_REDIS_PORT", str(free_port()))
    stack = request.getfixturevalue("airflow_stack")
    stack.start_worker("machine-a", queues=("default",))
    stack.start_worker("machine-b", queues=("render",))
    yield stack
    mp.undo()


def test_a_production_on_two_celery_machines_renders_only_on_the_render_worker(stack):
    client = stack.client
    client.wait_for_dag("longform_science_en")
    client.wait_for_dag("shorts_science_en")
    run_id = client.trigger(
        "longform_science_en", {"topic": "The Hubble Space Telescope", "target_seconds": 25}
    )

    def approve_all():
        prod = production_of("science_en", run_id)
        if prod:
            with connect() as conn:
                for cp in checkpoints.pending(conn):
                    if cp.production_id == prod["id"]:
                        assert cli(["approve", str(cp.id), "--as", "celery-e2e"]) == 0

    assert wait_run(client, stack, "longform_science_en", run_id, 900, on_tick=approve_all) == "success"
    pid = production_of("science_en", run_id)["id"]
    deadline = time.monotonic() + 300
    while not (shorts := client.runs("shorts_science_en")) and time.monotonic() < deadline:
        time.sleep(2)
    assert shorts and wait_run(client, stack, "shorts_science_en", shorts[0]["dag_run_id"], 600) == "success"

    # where each task ran: renders on machine-b's render worker, the rest on machine-a
    placed = {
        task: client.task_instance("longform_science_en", run_id, task)
        for task in client.task_states("longform_science_en", run_id)
    }
    placed["shorts"] = client.task_instance("shorts_science_en", shorts[0]["dag_run_id"], "shorts")
    for task, ti in placed.items():
        worker = "machine-b-render" if task in RENDERING else "machine-a"
        assert ti["hostname"] == worker and ti["queue"] == ("render" if task in RENDERING else "default")
        assert ti["pool"] == ("render" if task in RENDERING else "default_pool"), (task, ti["pool"])

    # and what the production made: the video, its Short and the publish outcome
    item = outbox_dir("science_en") / f"{pid:05d}-longform"
    video = probe(item / "video.mp4")
    assert (video.video.width, video.video.height) == (1920, 1080) and video.duration > 10
    short = probe(outbox_dir("science_en") / f"{pid:05d}-short-1" / "video.mp4")
    assert (short.video.width, short.video.height) == (1080, 1920)
    assert (item / "receipt.json").exists()
