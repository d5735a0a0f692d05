"""The fault suite on the real Airflow stack (api-server, scheduler, dag-processor, triggerer, LocalExecutor,
metadata in the embedded PostgreSQL): processes killed and restarted, the database restarted, the disk full
and a language model that keeps failing, each while a production is at the point the fault hurts most.

What must hold after every fault: no decision lost or recorded twice (the audit log `checkpoint_events`), no
artifact lost or half-written file taken as done, and the production either completes or says why (a clear
task log line and a needs-attention mark). One stack serves the module; one production of science_en goes
through the checkpoint faults (script checkpoint) and then the render faults (final), so nothing is rendered
that a fault does not need.

The rest of the faults of issue 15 are tested where they are cheapest and still faithful: a b-roll provider
timing out and a broken library file in tests/pipelines/stages/test_broll_faults.py (the stage owns the
fallback); YouTube's 5xx and a dropped connection mid-upload in tests/pipelines/providers/publish/
test_youtube.py; the worker SIGKILLed mid-upload in tests/e2e/test_youtube_e2e.py; a lost NOTIFY in
tests/plugins/nicheflow_airflow/test_triggers.py; a death mid-upload to S3 in tests/pipelines/test_storage.py."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import psutil
import pytest

from pipelines import checkpoints
from pipelines.db import connect
from pipelines.files import read_json
from pipelines.local import pgembed
from pipelines.local.cli import main as cli
from pipelines.local.demo import production_of, wait_run
from pipelines.local.stack import AirflowClient
from pipelines.media.ffmpeg import probe, run_ffmpeg
from pipelines.paths import outbox_dir
from pipelines.stages import registry
from tests.helpers import wait_for
from tests.helpers.fake_groq import FakeGroq

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CHANNEL = "science_en"
DAG = f"longform_{CHANNEL}"
TOPIC = "The International Space Station"
RUN_TIMEOUT = 900  # generous: the machine may be busy; a wait is not an assertion about speed
GROQ_KEY = "gsk_faults_e2e_key_0123456789"
SDK_RETRIES = 4  # the groq SDK's max_retries (pipelines/providers/writer/groq.py)
TRIES = 3  # Airflow's tries of a task: 1 + DEFAULT_ARGS["retries"]


@pytest.fixture(scope="module")
def groq():
    """A fake Groq for historia_ptbr's writer, and the Airflow timings that bound how long a killed
    process holds its task: the defaults (300 s) only make the waits longer, not the outcome different."""
    mp = pytest.MonkeyPatch()
    with FakeGroq() as fake:
        mp.setenv("GROQ_API_KEY", GROQ_KEY)
        mp.setenv("GROQ_BASE_URL", fake.url)
        mp.setenv("AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL", "15")
        mp.setenv("AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD", "15")
        mp.setenv("AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT", "60")
        yield fake
    mp.undo()


@pytest.fixture(scope="module")
def stack_channel_edits(groq) -> dict[str, dict]:
    return {
        CHANNEL: {"target_seconds": 20, "audio_qa.model": "off"},
        "historia_ptbr": {"llm.provider": "groq", "target_seconds": 20, "audio_qa.model": "off"},
    }


@pytest.fixture(scope="module")
def stack(airflow_stack):
    yield airflow_stack
    for mount in _mounts:  # a size-limited folder a test left mounted (its files go with it)
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture(scope="module")
def run_id(stack) -> str:
    """The production of science_en the checkpoint and render faults share."""
    stack.client.wait_for_dag(DAG)
    return stack.client.trigger(DAG, {"topic": TOPIC, "target_seconds": 20})


# -- helpers ----------------------------------------------------------------------------------------------


def restart(stack, name: str, kill: bool = True) -> None:
    """SIGKILL an Airflow component's whole process group (what it started goes with it), then start it
    again with the same environment, as a supervisor (systemd, Kubernetes) would."""
    proc = stack.procs.pop(name)
    if kill:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    stack._spawn(name, [str(Path(sys.executable).parent / "airflow"), name], stack._env)
    if name == "api-server":
        stack.wait_healthy()


def pending(pid: int, stage: str | None = None) -> list[checkpoints.Checkpoint]:
    with connect() as conn:
        return [c for c in checkpoints.pending(conn) if c.production_id == pid and stage in (None, c.stage)]


def waiting_at(stack, run_id: str, stage: str, revision: int) -> checkpoints.Checkpoint:
    """Wait until the run's sensor waits deferred on `stage` revision `revision`; return the checkpoint."""

    def ready():
        stack.check_alive()
        prod = production_of(CHANNEL, run_id)
        if not prod:
            return None
        cps = [c for c in pending(prod["id"], stage) if c.revision == revision]
        state = stack.client.task_states(DAG, run_id).get(f"review_{stage}")
        assert state not in ("failed", "upstream_failed"), stack.client.task_states(DAG, run_id)
        return cps[0] if cps and state == "deferred" else None

    stack.check_alive()
    return wait_for(f"{stage} r{revision} waiting for a decision", ready, timeout=RUN_TIMEOUT, every=2)


def events(checkpoint_id: int) -> list[str]:
    """The decisions the audit log holds for a checkpoint."""
    with connect() as conn:
        return [e["action"] for e in checkpoints.events(conn, checkpoint_id)]


def approve_until(stack, run_id: str, stage: str) -> checkpoints.Checkpoint | None:
    """Approve every checkpoint of the run before `stage` as it comes; return `stage`'s first one."""
    order = list(registry.CHECKPOINTS)

    def tick():
        stack.check_alive()
        prod = production_of(CHANNEL, run_id)
        assert stack.client.run_state(DAG, run_id) in ("queued", "running")
        for cp in pending(prod["id"]) if prod else []:
            if order.index(cp.stage) >= order.index(stage):
                return cp
            assert cli(["approve", str(cp.id), "--as", "e2e-faults"]) == 0
        return None

    return wait_for(f"the {stage} checkpoint", tick, timeout=RUN_TIMEOUT, every=2)


def sha_tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def renderer(workspace: Path, revision: int) -> psutil.Process | None:
    """The ffmpeg encoding the final video of this revision, once it has written some of it."""
    target = str(workspace / "final" / f"r{revision}")
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "-progress" in cmd and any(a.startswith(target) and a.endswith(".tmp") for a in cmd):
            out = Path(cmd[-1])
            if out.exists() and out.stat().st_size > 0:
                return proc
    return None


def decodes(path: Path) -> bool:
    """The whole file decodes without an error (not only its header)."""
    run_ffmpeg(["-v", "error", "-xerror", "-i", path, "-f", "null", "-"], what=f"decoding {path.name}")
    return True


_mounts: list[Path] = []


# -- the checkpoint faults --------------------------------------------------------------------------------


def test_checkpoint_waits_survive_the_triggerer_postgres_and_the_api_server_restarting(stack, run_id, capsys):
    """Script checkpoint revision 1: the triggerer is killed and restarted, then a change is requested: the
    production resumes (revision 2). PostgreSQL restarts under revision 2: a decision tried during the
    outage is refused saying the database is unreachable, nothing recorded; after the restart the same
    decision is applied once and the production resumes (revision 3). The api-server is killed while a
    review submit of revision 3 is in flight: after its restart the reviewer submits again and exactly one
    approval is recorded; the production goes on to the audio checkpoint."""
    r1 = waiting_at(stack, run_id, "script", 1)
    pid = r1.production_id

    # the triggerer dies while the checkpoint waits
    restart(stack, "triggerer")
    assert cli(["request-changes", str(r1.id), "--notes", "shorter opening", "--as", "e2e-faults"]) == 0
    r2 = waiting_at(stack, run_id, "script", 2)  # the new triggerer woke the sensor
    assert events(r1.id) == ["changes_requested"]

    # PostgreSQL restarts while revision 2 waits
    pgembed.stop()
    try:
        capsys.readouterr()
        assert cli(["request-changes", str(r2.id), "--notes", "warmer tone", "--as", "e2e-faults"]) == 2
        err = capsys.readouterr().err
        assert "cannot reach the database" in err and "Start it with" in err, err
    finally:
        pgembed.ensure_running()
    with connect() as conn:
        assert checkpoints.get(conn, r2.id).status == "pending" and events(r2.id) == []
    restarted = list(stack.restarts)
    stack.check_alive()  # what exited with the database is started again, as `nicheflow run` does
    restarted = stack.restarts[len(restarted) :]
    assert cli(["request-changes", str(r2.id), "--notes", "warmer tone", "--as", "e2e-faults"]) == 0
    r3 = waiting_at(stack, run_id, "script", 3)  # the trigger reconnected and heard the decision
    assert events(r2.id) == ["changes_requested"]
    assert set(restarted) <= {"scheduler", "dag-processor", "triggerer", "api-server"}, restarted
    print(f"components that exited with the database and were started again: {restarted}")

    # the api-server dies while a review submit is being handled: the request waits on the row's lock
    token = stack.client.http.headers["Authorization"]
    url = f"{stack.url}/review/api/checkpoints/{r3.id}/decision"
    answers: list[object] = []

    def submit():
        try:
            answers.append(httpx.post(url, json={"decision": "approved"}, headers={"Authorization": token}))
        except httpx.HTTPError as e:
            answers.append(e)

    def blocked() -> bool:
        assert not answers, answers  # the submit must not have ended: it waits on the lock
        with connect() as conn:  # a transaction of its own: pg_stat_activity is read once per transaction
            return (
                conn.execute(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE '%%checkpoints%%FOR UPDATE%%'"
                ).fetchone()["n"]
                > 0
            )

    with connect() as lock:
        lock.execute("SELECT id FROM nicheflow.checkpoints WHERE id = %s FOR UPDATE", (r3.id,))
        thread = threading.Thread(target=submit, daemon=True)
        thread.start()
        wait_for("the submit to wait on the checkpoint's lock", blocked, timeout=60, every=0.2)
        os.killpg(stack.procs["api-server"].pid, signal.SIGKILL)
        thread.join(timeout=30)
    # the lock is released only now: the dead server's transaction never commits
    assert answers and isinstance(answers[0], httpx.HTTPError), answers
    restart(stack, "api-server", kill=False)
    stack.client = AirflowClient(stack.url, "admin", stack.passwords()["admin"])
    with connect() as conn:
        assert checkpoints.get(conn, r3.id).status == "pending" and events(r3.id) == []
    headers = {"Authorization": f"Bearer {_token(stack, 'reviewer')}"}
    first = httpx.post(url, json={"decision": "approved"}, headers=headers, timeout=30)
    again = httpx.post(url, json={"decision": "approved"}, headers=headers, timeout=30)  # a double submit
    assert first.status_code == 200 and again.status_code == 409, (first.text, again.text)
    assert events(r3.id) == ["approved"]
    audio = approve_until(stack, run_id, "audio")
    assert audio is not None and audio.production_id == pid
    with connect() as conn:
        hist = [(c.stage, c.revision, c.status) for c in checkpoints.history(conn, pid)]
    assert hist[:3] == [
        ("script", 1, "changes_requested"),
        ("script", 2, "changes_requested"),
        ("script", 3, "approved"),
    ]


def _token(stack, user: str) -> str:
    r = httpx.post(
        f"{stack.url}/auth/token", json={"username": user, "password": stack.passwords()[user]}, timeout=30
    )
    return r.raise_for_status().json()["access_token"]


# -- the render faults ------------------------------------------------------------------------------------


def test_the_render_survives_a_full_disk_a_killed_task_and_a_killed_scheduler(stack, run_id):
    """The final render, three times unlucky. Try 1 finds the production's disk full (a tmpfs holding its
    workspace, with little room): a clear error says which disk and what to do, the earlier stages' files are
    intact and no video is taken as done. Space comes back; try 2 is SIGKILLed mid-encode: still no video,
    no render.json, and its encoder died with it. Try 3 renders a video that probes and decodes whole. A change is then requested at the
    final checkpoint and the scheduler is killed (with its executor's processes; the task has a process
    group of its own and lives on, orphaned) while revision 2 renders: after its restart the orphaned task's
    work is kept or redone, never doubled (one revision 2), and the production completes, published once."""
    client = stack.client
    broll = approve_until(stack, run_id, "broll")
    assert broll is not None
    pid = broll.production_id
    workspace = Path(production_of(CHANNEL, run_id)["workspace"])
    final_dir = workspace / "final" / "r1"

    # the workspace moves onto a small disk of its own, with ~300 kB to spare: the render will not fit
    before = sha_tree(workspace)
    pages = sum(-(-p.stat().st_size // 4096) + 1 for p in workspace.rglob("*"))  # tmpfs counts whole pages
    keep = workspace.with_name(workspace.name + ".before")
    shutil.copytree(workspace, keep)
    size_kb = pages * 4 + 300  # the files as they are, and 300 kB: room for the captions, not the video
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(workspace)], check=True)
    _mounts.append(workspace)
    shutil.copytree(keep, workspace, dirs_exist_ok=True)
    assert sha_tree(workspace) == before
    assert cli(["approve", str(broll.id), "--as", "e2e-faults"]) == 0

    def final_try(n: int, states=("up_for_retry", "failed")):
        def ended():
            ti = client.task_instance(DAG, run_id, "final")
            return ti if ti["try_number"] == n and ti["state"] in states else None

        return wait_for(f"final try {n} to end {states}", ended, timeout=RUN_TIMEOUT, every=2)

    ti = final_try(1)
    assert ti["state"] == "up_for_retry", ti  # a full disk is worth retrying
    log = client.task_log(DAG, run_id, "final", 1)
    assert f"the disk holding {workspace}" in log and "is full" in log, log[-3000:]
    assert "free space on it" in log and "the task is retried" in log
    assert "[not retried" not in log
    # the earlier stages' files as they were; of the render, only what was written whole (the captions)
    after = sha_tree(workspace)
    assert {k: v for k, v in after.items() if not k.startswith("final/")} == before
    assert sorted(Path(k).name for k in after if k.startswith("final/")) == ["captions.ass", "captions.srt"]

    # space comes back; try 2 is killed mid-encode
    subprocess.run(["mount", "-o", "remount,size=512m", str(workspace)], check=True)
    ffmpeg = wait_for(
        "try 2's encoder at work", lambda: renderer(workspace, 1), timeout=RUN_TIMEOUT, every=0.5
    )
    task = ffmpeg.parent()  # the task process running the stage
    assert task is not None and task.pid not in {p.pid for p in stack.procs.values()}
    task.send_signal(signal.SIGKILL)
    gone, _ = psutil.wait_procs([ffmpeg], timeout=60)
    assert gone, "the killed task's encoder ran on"  # it dies with its task (PR_SET_PDEATHSIG)
    final_try(2)
    assert not (final_dir / "video.mp4").exists() and not (final_dir / "render.json").exists()

    # try 3 renders it whole
    cp = wait_for(
        "the final checkpoint", lambda: next(iter(pending(pid, "final")), None), timeout=RUN_TIMEOUT, every=2
    )
    ti = client.task_instance(DAG, run_id, "final")
    assert (ti["state"], ti["try_number"]) == ("success", 3), ti
    _valid_render(workspace, final_dir, cp)

    # a change is requested; the scheduler dies while revision 2 renders
    assert cli(["request-changes", str(cp.id), "--notes", "render it again", "--as", "e2e-faults"]) == 0
    wait_for("revision 2's encoder at work", lambda: renderer(workspace, 2), timeout=RUN_TIMEOUT, every=0.5)
    restart(stack, "scheduler")  # its executor's worker and the task's supervisor go with it
    r2 = waiting_at(stack, run_id, "final", 2)
    _valid_render(workspace, workspace / "final" / "r2", r2)
    assert cli(["approve", str(r2.id), "--as", "e2e-faults"]) == 0
    assert wait_run(client, stack, DAG, run_id, RUN_TIMEOUT) == "success"

    with connect() as conn:
        finals = [(c.revision, c.status) for c in checkpoints.history(conn, pid) if c.stage == "final"]
        status = conn.execute("SELECT status FROM productions WHERE id = %s", (pid,)).fetchone()["status"]
    assert finals == [(1, "changes_requested"), (2, "approved")] and status == "published"
    items = [p.name for p in outbox_dir(CHANNEL).iterdir() if p.name.startswith(f"{pid:05d}-longform")]
    assert items == [f"{pid:05d}-longform"]  # published once
    assert decodes(outbox_dir(CHANNEL) / items[0] / "video.mp4")
    shutil.rmtree(keep, ignore_errors=True)


def _valid_render(workspace: Path, folder: Path, cp: checkpoints.Checkpoint) -> None:
    """Every output of a render is whole: the video probes and decodes, the thumbnails are JPEGs, the
    captions and render.json parse; no temporary file is left in the folder."""
    from PIL import Image

    art = cp.artifacts
    video = workspace / art["video"]
    info = probe(video)
    assert info.video is not None and info.audio is not None and 15 <= info.duration <= 40
    assert decodes(video)
    for thumb in art["thumbnails"]:
        with Image.open(workspace / thumb) as im:
            im.load()
            assert im.size == (1280, 720)
    render = read_json(workspace / art["render"])
    assert render["thumbnails"] == art["thumbnails"] and render["duration"] > 0
    srt = (workspace / art["captions"]).read_text(encoding="utf-8")
    assert srt.startswith("1\n") and " --> " in srt
    assert not [p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".video")]


# -- the language model -----------------------------------------------------------------------------------


def test_an_llm_rate_limiting_then_failing_is_retried_a_bounded_number_of_times_then_needs_attention(
    stack, groq
):
    """Groq answers 429 with Retry-After, then nothing but 5xx. The SDK retries each call SDK_RETRIES times
    (waiting what Retry-After asks), Airflow runs the task TRIES times, and then it stops: the requests are
    counted, the last try's log says what failed and that retrying did not help, and the production is
    marked as needing attention, category transient (the service has to come back)."""
    from pipelines import attention

    groq.requests.clear()
    groq.add_error(
        429, "Rate limit reached", type="tokens", code="rate_limit_exceeded", headers={"retry-after": "1"}
    )
    for _ in range(40):
        groq.add_error(
            503, "Service Unavailable", type="internal_server_error", headers={"retry-after-ms": "50"}
        )
    client = stack.client
    dag_id = "longform_historia_ptbr"
    client.wait_for_dag(dag_id)
    run = client.trigger(dag_id, {"topic": "", "target_seconds": 20})  # the backlog's next topic
    assert wait_run(client, stack, dag_id, run, RUN_TIMEOUT) == "failed"

    ti = client.task_instance(dag_id, run, "script")
    assert (ti["state"], ti["try_number"]) == ("failed", TRIES), ti
    assert len(groq.requests) == TRIES * (1 + SDK_RETRIES)  # bounded: nothing more was sent
    assert groq.requests[1].time - groq.requests[0].time >= 1.0  # the Retry-After was waited
    log = client.task_log(dag_id, run, "script", TRIES)
    assert "Groq API error HTTP 503: Service Unavailable" in log and "Try again later" in log, log[-3000:]
    assert GROQ_KEY not in log
    mark = wait_for(
        "the needs-attention mark",
        lambda: next((a for a in _marks(attention) if a.dag_run_id == run), None),
        timeout=120,
    )
    assert (mark.task_id, mark.category) == ("script", "transient")
    assert "503" in mark.error and mark.tries == TRIES


def _marks(attention):
    with connect() as conn:
        return attention.listing(conn)
