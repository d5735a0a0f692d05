"""End to end on the real Airflow stack (api-server, scheduler, dag-processor, triggerer, LocalExecutor,
metadata in PostgreSQL): a short long-form production reviewed through the CLI, including a change
request, then the Shorts DAG triggered by the channel's asset; and a rejected production."""

from __future__ import annotations

import json
import time

import pytest

from knowledge import store
from pipelines import checkpoints
from pipelines.db import connect
from pipelines.files import read_json
from pipelines.local.cli import main as cli
from pipelines.local.demo import production_of, wait_run
from pipelines.media.ffmpeg import probe
from pipelines.paths import outbox_dir

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture(scope="module")
def stack(airflow_stack):
    return airflow_stack


def review_until_done(stack, channel: str, run_id: str, decide) -> str:
    """Answer every checkpoint of this run through the CLI, as a reviewer would, until the run ends."""

    def tick():
        prod = production_of(channel, run_id)
        if not prod:
            return
        with connect() as conn:
            waiting = [c for c in checkpoints.pending(conn) if c.production_id == prod["id"]]
        for cp in waiting:
            assert cli(decide(cp)) == 0

    return wait_run(stack.client, stack, f"longform_{channel}", run_id, timeout=900, on_tick=tick)


def test_longform_then_shorts(stack, capsys):
    client = stack.client
    client.wait_for_dag("longform_science_en")
    client.wait_for_dag("shorts_science_en")
    run_id = client.trigger(
        "longform_science_en", {"topic": "The International Space Station", "target_seconds": 40}
    )

    def decide(cp):
        if cp.stage == "script" and cp.revision == 1:
            return ["request-changes", str(cp.id), "--notes", "tighten the opening", "--as", "e2e-reviewer"]
        return ["approve", str(cp.id), "--as", "e2e-reviewer"]

    assert review_until_done(stack, "science_en", run_id, decide) == "success"
    prod = production_of("science_en", run_id)
    pid = prod["id"]

    # approval rows: every stage decided by the reviewer, the change request made a second script revision
    with connect() as conn:
        hist = checkpoints.history(conn, pid)
        facts = store.search_facts(conn, "science_en", "english", "International Space Station")
        status = conn.execute("SELECT status FROM productions WHERE id = %s", (pid,)).fetchone()["status"]
        coverage = conn.execute(
            "SELECT topic, fact_ids FROM coverage WHERE production_id = %s", (pid,)
        ).fetchone()
    assert [(c.stage, c.revision, c.status) for c in hist] == [
        ("script", 1, "changes_requested"),
        ("script", 2, "approved"),
        ("audio", 1, "approved"),
        ("broll", 1, "approved"),
        ("final", 1, "approved"),
    ]
    assert all(c.reviewer == "e2e-reviewer" and c.decided_at for c in hist)
    assert hist[1].artifacts["addresses_notes"] == "tighten the opening"
    assert status == "published"
    assert facts and all(f.source_path.endswith("international-space-station.md") for f in facts)
    assert coverage["topic"] == "The International Space Station" and coverage["fact_ids"]

    # the long-form video in the outbox
    item = outbox_dir("science_en") / f"{pid:05d}-longform"
    video = probe(item / "video.mp4")
    assert (video.video.width, video.video.height, video.video.fps, video.video.codec) == (
        1920,
        1080,
        30.0,
        "h264",
    )
    assert video.audio.codec == "aac"
    assert 30 <= video.duration <= 45
    meta = read_json(item / "metadata.json")
    assert meta["title"] == "The International Space Station"
    assert "0:00 " in meta["description"] and "international_space_station" in meta["description"].lower()
    assert "Piper" in meta["description"] and meta["made_for_kids"] is False  # the channel's offline voice
    assert meta["tags"] == ["space", "science", "astronomy"] and meta["publish_at"]
    thumb = probe(item / "thumbnail.jpg")
    assert (thumb.video.width, thumb.video.height) == (1280, 720)
    srt = (item / "captions.srt").read_text(encoding="utf-8")
    assert "International Space Station" in srt

    # the Shorts DAG ran on the asset event and published a vertical Short with its own time
    deadline = time.monotonic() + 300
    while not (runs := client.runs("shorts_science_en")) and time.monotonic() < deadline:
        time.sleep(2)
    assert runs, "shorts_science_en was not triggered by the long-form's asset"
    assert wait_run(client, stack, "shorts_science_en", runs[0]["dag_run_id"], 600) == "success"
    short_item = outbox_dir("science_en") / f"{pid:05d}-short-1"
    short = probe(short_item / "video.mp4")
    assert (short.video.width, short.video.height, short.video.codec, short.audio.codec) == (
        1080,
        1920,
        "h264",
        "aac",
    )
    assert 5 <= short.duration <= 60
    short_meta = read_json(short_item / "metadata.json")
    assert short_meta["kind"] == "short" and short_meta["publish_at"] != meta["publish_at"]
    assert not outbox_dir("historia_ptbr").exists()  # nothing of this run landed in the other channel

    # one production's log lines, across its tasks, attempts, the Shorts run and the CLI's decisions
    capsys.readouterr()
    assert cli(["logs", str(pid), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["timestamp"] for r in lines] == sorted(r["timestamp"] for r in lines)
    ours = [
        r for r in lines if r.get("logger", "").startswith(("pipelines", "knowledge", "nicheflow_airflow"))
    ]
    assert ours and all((r["channel"], r["production_id"]) == ("science_en", pid) for r in ours)
    stages = {r["stage"] for r in ours}
    assert {"start", "knowledge", "script", "review_script", "audio", "final", "shorts"} <= stages
    decisions = [r for r in lines if "(cli)" in r["event"]]
    assert len(decisions) == 5 and {r["stage"] for r in decisions} == {
        "review_script",
        "review_audio",
        "review_broll",
        "review_final",
    }
    # written so in the task log files themselves, Airflow's own lines after the stage began included
    run_dir = stack.home / "logs" / "dag_id=longform_science_en" / f"run_id={run_id}"
    raw = [json.loads(x) for x in (run_dir / "task_id=script" / "attempt=1.log").read_text().splitlines()]
    mine = [r for r in raw if r.get("logger", "").startswith("pipelines")]
    assert mine and all(
        (r["channel"], r["production_id"], r["stage"]) == ("science_en", pid, "script") for r in mine
    )
    after = raw[raw.index(mine[0]) :]
    assert any(
        not r.get("logger", "").startswith("pipelines") and r.get("production_id") == pid for r in after
    )


def test_rejection_ends_the_production_and_keeps_its_files(stack):
    client = stack.client
    client.wait_for_dag("longform_historia_ptbr")
    run_id = client.trigger("longform_historia_ptbr", {"topic": "", "target_seconds": 30})  # backlog topic

    def decide(cp):
        return ["reject", str(cp.id), "--notes", "fora da linha editorial", "--as", "editora"]

    assert review_until_done(stack, "historia_ptbr", run_id, decide) == "success"
    states = client.task_states("longform_historia_ptbr", run_id)
    assert states["review_script"] == "skipped" and states["publish"] == "skipped"
    prod = production_of("historia_ptbr", run_id)
    assert prod["status"] == "rejected" and prod["topic"] == "A Independência do Brasil"
    with connect() as conn:
        cp = checkpoints.latest(conn, prod["id"], "script")
        en_facts = store.search_facts(conn, "science_en", "portuguese", "Brasil Independência")
    assert cp.status == "rejected" and cp.reviewer == "editora"
    from pathlib import Path

    assert (Path(prod["workspace"]) / cp.artifacts["script"]).exists()  # the rejected script is kept
    assert en_facts == []
    assert not (outbox_dir("historia_ptbr") / f"{prod['id']:05d}-longform").exists()
    assert client.runs("shorts_historia_ptbr") == []
