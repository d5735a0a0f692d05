"""Across machines, on the real stack: CeleryExecutor with a local Redis as the broker (Debian's
redis-server), and two "machines" of Celery workers, each with its own data folder and scratch: machine-a
serves the default queue, machine-b only the render queue (concurrency 1). Production files live in an
S3-compatible bucket on loopback (moto's server mode), the only thing the machines share besides the
databases. One production goes through the real scheduler, its checkpoints approved through the CLI: every
render (the final video, the Shorts) runs on machine-b and everything else on machine-a, so each reads
what the other wrote from the bucket; the video, the Short and the publish outcome are checked there, and
neither machine keeps a production file on its disk."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipelines import checkpoints, storage
from pipelines.db import connect
from pipelines.local.cli import main as cli
from pipelines.local.demo import production_of, wait_run
from pipelines.media.ffmpeg import probe
from tests.helpers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
RENDERING = {"final", "review_final", "shorts"}


@pytest.fixture(scope="module")
def machines(tmp_path_factory) -> dict[str, Path]:
    return {m: tmp_path_factory.mktemp(m) for m in ("machine-a", "machine-b")}


@pytest.fixture(scope="module")
def stack(request, moto_s3, machines):
    mp = pytest.MonkeyPatch()
    mp.setenv("NICHEFLOW_EXECUTOR", "celery")
    mp.setenv("NICHEFLOW_WORKERS", "0")  # this test starts its machines itself
    mp.setenv("NICHEFLOW_REDIS_PORT", str(free_port()))
    for name, value in moto_s3.storage_env("celery-e2e").items():  # every component, as on a cluster
        mp.setenv(name, value)
    try:  # the environment is undone whatever happens: later modules run on the data folder
        stack = request.getfixturevalue("airflow_stack")
        stack.start_worker(
            "machine-a", {"NICHEFLOW_DATA_DIR": str(machines["machine-a"])}, queues=("default",)
        )
        stack.start_worker(
            "machine-b", {"NICHEFLOW_DATA_DIR": str(machines["machine-b"])}, queues=("render",)
        )
        yield stack
    finally:
        mp.undo()


def test_a_production_on_two_machines_sharing_only_a_bucket(stack, machines, tmp_path):
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

    # and what the production made, in the bucket: the video, its Short and the publish outcome
    store = storage.get()
    assert store.url.startswith("s3://")
    item = f"channels/science_en/outbox/{pid:05d}-longform"
    assert store.exists(f"{item}/receipt.json") and store.exists(f"{item}/metadata.json")
    assert store.get(f"{item}/video.mp4", tmp_path / "video.mp4")
    video = probe(tmp_path / "video.mp4")
    assert (video.video.width, video.video.height) == (1920, 1080) and video.duration > 10
    assert store.get(f"channels/science_en/outbox/{pid:05d}-short-1/video.mp4", tmp_path / "short.mp4")
    short = probe(tmp_path / "short.mp4")
    assert (short.video.width, short.video.height) == (1080, 1920)
    # nothing of the production stayed on either machine: their scratch folders are empty
    for folder in machines.values():
        assert not [p for p in (folder / "scratch").rglob("*") if p.is_file()], folder
        assert not (folder / "channels").exists() or not any((folder / "channels").rglob("*.mp4"))
