"""20 channels at once on one machine (a script, not a test): DAG parse time as channels grow, then every
channel's production through the real stack at the same time.

    .venv/bin/python tests/bench/bench_channels.py [--channels 20] [--seconds 30] [--parse-counts 1,5,10,20]
                                                   [--repeat 5] [--skip-parse] [--skip-run] [--timeout 7200]

Channels: CHANNELS YAMLs generated from the two samples (tests/helpers/channels.py: half English, half
Portuguese, their own ids and titles, manual runs, SECONDS long, the samples' source documents), in a
temporary data folder with a private embedded PostgreSQL on a free port.

1. Parse: dags/nicheflow_channels.py parsed as the dag-processor does (a DagBag of that one file), in a
   fresh process per channel count: `cold` includes the file's own imports (nicheflow's, pydantic; not
   Airflow's, which the dag-processor has loaded before it forks), `warm` parses it again in the same
   process (what each channel costs). Reported: ms per channel (warm / channels), the ratio of the largest
   count's per-channel figure to one channel's (flat: about 1 or less), the marginal ms per added channel,
   and the whole file against `[dag_processor] dag_file_processor_timeout` (read from Airflow's conf).
   Each count runs REPEAT times, interleaved; the median stands.
2. Run: the stack of `nicheflow run` (pipelines/local/stack.py: LocalExecutor, the `render` pool with
   render_slots() slots) runs every channel's long-form at once, each checkpoint approved as soon as it
   opens by the demo's auto-approver (recorded as such), then its Shorts (the asset event). One channel
   is given a topic its knowledge has nothing on: its script stage fails permanently (NoFacts, no
   retries), as a real channel would on a topic nobody wrote sources for; every other channel must still
   publish its video and its Short to its outbox. Sampled every 0.25 s (psutil, the stack's own process
   tree only, not other users'): the ffmpeg processes, each attributed to its task through the Airflow
   task runner above it; "render" ones are those of the render pool's tasks (final, review_final,
   shorts). The pool's own running slots (REST API) every tick. Reported: wall time, throughput (videos
   and Shorts per hour on this machine), per-channel completion (trigger to Short published; the slowest
   over the median: no channel starves), the most render tasks running ffmpeg at once, the most render
   encoders (libx264) and the most ffmpeg processes of any stage at once, against the pool's slots.
Like the other benches, the machine's load average (before, during, after) and the cores OTHER processes
kept busy meanwhile (others_cores: /proc/stat minus this stack's processes) are printed, so a run on a
busy shared machine shows as such. One JSON line per measurement, then a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    os.environ["NICHEFLOW_PG_PORT"] = str(s.getsockname()[1])
_tmp = Path(tempfile.mkdtemp(prefix="nicheflow-bench-channels-"))
os.chmod(_tmp, 0o755)  # the postgres system user must reach the cluster inside it
os.environ["NICHEFLOW_DATA_DIR"] = str(_tmp / "data")
os.environ["NICHEFLOW_CONFIG_DIR"] = str(_tmp / "niche_configs")
os.environ.pop("DATABASE_URL", None)
REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]

import psutil  # noqa: E402

from pipelines import checkpoints, db  # noqa: E402
from pipelines.local.demo import AUTO_APPROVER, AUTO_NOTE  # noqa: E402
from pipelines.local.stack import AirflowClient, Stack  # noqa: E402
from pipelines.paths import outbox_dir  # noqa: E402
from pipelines.stages import registry  # noqa: E402
from tests.helpers import free_port  # noqa: E402
from tests.helpers.channels import channel_ids, write_channels  # noqa: E402

DAG_FILE = REPO / "dags" / "nicheflow_channels.py"
OFF_TOPIC = "Sourdough bread fermentation at home"  # nothing in the science sources speaks of it
RENDER_TASKS = {s.task_id for s in registry.STAGES if s.renders} | {
    f"review_{s.task_id}" for s in registry.STAGES if s.renders and s.checkpoint
}
TASK_TITLE = re.compile(r"airflow (?:worker -- |supervisor: )([0-9a-f]{8}-[0-9a-f-]{27})")

PARSE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
t0 = time.perf_counter(); bag = DagBag(dag_folder=sys.argv[1]); cold = time.perf_counter() - t0
assert not bag.import_errors, bag.import_errors
t0 = time.perf_counter(); again = DagBag(dag_folder=sys.argv[1]); warm = time.perf_counter() - t0
print(json.dumps({"dags": len(bag.dags), "again": len(again.dags), "cold_s": cold, "warm_s": warm}))
"""


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all but idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


# ---------------------------------------------------------------------------------------------- parse


def parse_once(folder: Path, env: dict[str, str]) -> dict:
    res = subprocess.run(
        [sys.executable, "-c", PARSE, str(DAG_FILE)],
        env={**env, "NICHEFLOW_CONFIG_DIR": str(folder)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if res.returncode != 0:
        raise RuntimeError(f"parsing {DAG_FILE} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def parse_times(counts: list[int], repeat: int) -> dict:
    from airflow.configuration import conf

    timeout = conf.getfloat("dag_processor", "dag_file_processor_timeout")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(_tmp / "parse-airflow"),
        "AIRFLOW_CONFIG": str(REPO / "airflow.cfg"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")]),
    }
    folders = {n: _tmp / "parse" / f"{n:02d}" for n in counts}
    for n, folder in folders.items():
        write_channels(folder, n)
    runs: dict[int, list[dict]] = {n: [] for n in counts}
    for _ in range(repeat):  # interleaved: a slow spell of the machine hits every count alike
        for n in counts:
            machine0, load0, child0 = busy_cpu_s(), os.getloadavg()[0], children_cpu_s()
            t0 = time.perf_counter()
            row = parse_once(folders[n], env)
            wall = time.perf_counter() - t0
            assert row["dags"] == row["again"] == 2 * n, row
            others = busy_cpu_s() - machine0 - (children_cpu_s() - child0)
            row["others_cores"] = round(max(0.0, others) / wall, 2)
            row["load1"] = round(load0, 2)
            runs[n].append(row)
    rows = {}
    for n in counts:
        med = sorted(runs[n], key=lambda r: r["warm_s"])[len(runs[n]) // 2]
        rows[n] = {
            "case": "parse",
            "channels": n,
            "dags": med["dags"],
            "cold_ms": round(med["cold_s"] * 1000, 1),
            "warm_ms": round(med["warm_s"] * 1000, 1),
            "warm_ms_per_channel": round(med["warm_s"] * 1000 / n, 2),
            "cold_ms_runs": [round(r["cold_s"] * 1000) for r in runs[n]],
            "warm_ms_runs": [round(r["warm_s"] * 1000) for r in runs[n]],
            "others_cores_runs": [r["others_cores"] for r in runs[n]],
            "load1_runs": [r["load1"] for r in runs[n]],
        }
        print(json.dumps(rows[n]), flush=True)
    lo, hi = min(counts), max(counts)
    marginal = (rows[hi]["warm_ms"] - rows[lo]["warm_ms"]) / (hi - lo) if hi > lo else None
    return {
        "counts": counts,
        "ms_per_channel": {n: rows[n]["warm_ms_per_channel"] for n in counts},
        "per_channel_ratio": round(rows[hi]["warm_ms_per_channel"] / rows[lo]["warm_ms_per_channel"], 2),
        "per_channel_ratio_of": f"{hi} channels over {lo}",
        "per_channel_ratio_last_doubling": round(
            rows[hi]["warm_ms_per_channel"] / rows[hi // 2]["warm_ms_per_channel"], 2
        )
        if hi // 2 in rows
        else None,
        "marginal_ms_per_added_channel": round(marginal, 2) if marginal is not None else None,
        "file_cold_ms_at_most_channels": rows[hi]["cold_ms"],
        "dag_file_processor_timeout_s": timeout,
        "file_share_of_timeout": round(rows[hi]["cold_ms"] / 1000 / timeout, 4),
    }


# ------------------------------------------------------------------------------------------ sampling


class Sampler(threading.Thread):
    """Every `every` s: the ffmpeg processes in the stack's process tree, each attributed to its task
    (the Airflow task runner above it, whose title holds the task instance id), and, every 4th sample, the
    CPU seconds of the stack's processes (for others_cores)."""

    def __init__(self, roots: list[int], airflow_db: str, every: float = 0.25):
        super().__init__(daemon=True)
        self.roots, self.every, self.airflow_db = roots, every, airflow_db
        self.stop_event = threading.Event()
        self.samples = 0
        self.max_ffmpeg = self.max_render_ffmpeg = self.max_render_encoders = self.max_render_tasks = 0
        self.render_tasks_seen: set[str] = set()
        self.titles: dict[tuple[int, float], str | None] = {}
        self.tasks: dict[str, tuple[str, str]] = {}
        self.cpu: dict[tuple[int, float], float] = {}
        self.own_cpu_s = 0.0
        self.sample_s: list[float] = []
        self.errors = 0

    def task_of(self, uuid: str) -> tuple[str, str] | None:
        if uuid not in self.tasks:
            import psycopg

            with psycopg.connect(self.airflow_db) as conn:
                row = conn.execute(
                    "SELECT dag_id, task_id FROM task_instance WHERE id = %s", (uuid,)
                ).fetchone()
            if row is None:
                return None
            self.tasks[uuid] = (row[0], row[1])
        return self.tasks[uuid]

    def title(self, p: psutil.Process) -> str | None:
        key = (p.pid, p.info["create_time"])
        if key not in self.titles:
            try:
                m = TASK_TITLE.match(" ".join(p.cmdline()))
                self.titles[key] = m.group(1) if m else None
            except psutil.Error:
                return None
        return self.titles[key]

    def sample(self, with_cpu: bool) -> None:
        procs = {p.pid: p for p in psutil.process_iter(["ppid", "name", "create_time"])}
        kids: dict[int, list[int]] = {}
        for p in procs.values():
            kids.setdefault(p.info["ppid"], []).append(p.pid)
        tree, todo = set(), [r for r in self.roots if r in procs]
        while todo:
            pid = todo.pop()
            tree.add(pid)
            todo.extend(kids.get(pid, ()))
        ffmpeg = render = encoders = 0
        render_tis = set()
        for pid in tree:
            p = procs[pid]
            if not (p.info["name"] or "").startswith("ffmpeg"):  # imageio-ffmpeg's ffmpeg-linux-x86_64-v…
                continue
            ffmpeg += 1
            parent, uuid = p.info["ppid"], None
            while parent in tree and uuid is None:
                uuid = self.title(procs[parent])
                parent = procs[parent].info["ppid"]
            task = self.task_of(uuid) if uuid else None
            if uuid and task and task[1] in RENDER_TASKS:
                render += 1
                render_tis.add(uuid)
                self.render_tasks_seen.add(uuid)
                try:
                    encoders += "libx264" in p.cmdline()
                except psutil.Error:
                    pass
        self.max_ffmpeg = max(self.max_ffmpeg, ffmpeg)
        self.max_render_ffmpeg = max(self.max_render_ffmpeg, render)
        self.max_render_encoders = max(self.max_render_encoders, encoders)
        self.max_render_tasks = max(self.max_render_tasks, len(render_tis))
        if with_cpu:
            for pid in tree:
                p = procs[pid]
                try:
                    t = p.cpu_times()
                except psutil.Error:
                    continue
                self.cpu[(pid, p.info["create_time"])] = t.user + t.system

    def run(self) -> None:
        start = time.thread_time()
        while not self.stop_event.is_set():
            t0 = time.perf_counter()
            try:
                self.sample(with_cpu=self.samples % 4 == 0)
            except Exception:  # a process ending mid-sample; the next sample sees the rest
                self.errors += 1
            self.samples += 1
            self.sample_s.append(time.perf_counter() - t0)
            self.stop_event.wait(max(0.0, self.every - (time.perf_counter() - t0)))
        self.own_cpu_s = time.thread_time() - start

    def stop(self) -> None:
        self.stop_event.set()
        self.join()


# ----------------------------------------------------------------------------------------------- run


class Channel:
    def __init__(self, channel: str, topic: str, fails: bool):
        self.channel, self.topic, self.fails = channel, topic, fails
        self.run_id = ""
        self.triggered = self.longform_done = self.shorts_done = 0.0
        self.longform_state = self.shorts_state = ""
        self.production: int | None = None
        self.approved = 0

    @property
    def done(self) -> bool:
        return self.longform_state == "failed" or self.shorts_state in ("success", "failed")


def tick(client: AirflowClient, channels: list[Channel]) -> None:
    """Auto-approve every pending checkpoint of the bench's productions, then follow each unfinished run."""
    by_run = {c.run_id: c for c in channels}
    with db.connect() as conn:
        for row in conn.execute("SELECT id, dag_run_id FROM productions").fetchall():
            if (c := by_run.get(row["dag_run_id"])) is not None:
                c.production = row["id"]
        ours = {c.production: c for c in channels if c.production is not None}
        for cp in checkpoints.pending(conn):
            if cp.production_id in ours:
                checkpoints.decide(conn, cp.id, "approved", AUTO_APPROVER, AUTO_NOTE)
                ours[cp.production_id].approved += 1
    now = time.monotonic()
    for c in channels:
        if c.done:
            continue
        if not c.longform_done:
            state = client.run_state(f"longform_{c.channel}", c.run_id)
            if state in ("success", "failed"):
                c.longform_state, c.longform_done = state, now
        if c.longform_state == "success":
            runs = client.runs(f"shorts_{c.channel}")
            if runs and runs[0]["state"] in ("success", "failed"):
                c.shorts_state, c.shorts_done = runs[0]["state"], now


def published(c: Channel) -> dict:
    box = outbox_dir(c.channel)
    pid = c.production or 0
    return {
        "video": (box / f"{pid:05d}-longform" / "receipt.json").is_file(),
        "short": (box / f"{pid:05d}-short-1" / "receipt.json").is_file(),
    }


def run_all(n: int, seconds: int, timeout: float) -> dict:
    write_channels(Path(os.environ["NICHEFLOW_CONFIG_DIR"]), n, target_seconds=seconds)
    ids = channel_ids(n)
    failing = ids[(n // 2) // 2 * 2]  # an English channel in the middle: OFF_TOPIC is English
    channels = [Channel(ch, OFF_TOPIC if ch == failing else "", ch == failing) for ch in ids]
    loads: list[float] = []
    with Stack(free_port()) as stack:
        client = AirflowClient(stack.url, "admin", stack.passwords()["admin"])
        for ch in ids:
            client.wait_for_dag(f"longform_{ch}", timeout=600)
            client.wait_for_dag(f"shorts_{ch}", timeout=600)
        slots = client.http.get(f"/pools/{registry.RENDER}").raise_for_status().json()["slots"]
        sampler = Sampler([p.pid for p in stack.procs.values()], db.embedded_url("airflow"))
        load_before = load()
        machine0, own0 = busy_cpu_s(), time.process_time()
        sampler.start()
        start = time.monotonic()
        for c in channels:
            c.run_id = client.trigger(f"longform_{c.channel}", {"topic": c.topic, "target_seconds": seconds})
            c.triggered = time.monotonic()
        max_pool_running = 0
        last_load = 0.0
        try:
            while not all(c.done for c in channels):
                if time.monotonic() - start > timeout:
                    raise TimeoutError(
                        f"not done after {timeout:.0f} s: "
                        + ", ".join(
                            f"{c.channel} {c.longform_state or 'running'}" for c in channels if not c.done
                        )
                    )
                stack.check_alive()
                tick(client, channels)
                pool = client.http.get(f"/pools/{registry.RENDER}").raise_for_status().json()
                max_pool_running = max(max_pool_running, pool["running_slots"])
                if time.monotonic() - last_load >= 10:
                    loads.append(os.getloadavg()[0])
                    last_load = time.monotonic()
                time.sleep(2)
        finally:
            wall = time.monotonic() - start
            sampler.stop()
            machine = busy_cpu_s() - machine0
            own = time.process_time() - own0
        stack_cpu = sum(sampler.cpu.values())
        failed_tasks = {}
        for c in channels:
            if c.longform_state == "failed":
                states = client.task_states(f"longform_{c.channel}", c.run_id)
                failed_tasks[c.channel] = sorted(t for t, s in states.items() if s == "failed")
                if failed_tasks[c.channel]:
                    ti = client.task_instance(f"longform_{c.channel}", c.run_id, failed_tasks[c.channel][0])
                    failed_tasks[c.channel + ":tries"] = ti["try_number"]
    rows = []
    for c in channels:
        row = {
            "case": "channel",
            "channel": c.channel,
            "fails_on_purpose": c.fails,
            "production": c.production,
            "longform": c.longform_state,
            "shorts": c.shorts_state or None,
            "longform_s": round(c.longform_done - c.triggered, 1),
            "done_s": round(max(c.longform_done, c.shorts_done) - c.triggered, 1),
            "checkpoints_auto_approved": c.approved,
            **{f"published_{k}": v for k, v in published(c).items()},
        }
        if c.channel in failed_tasks:
            row["failed_tasks"] = failed_tasks[c.channel]
            row["failed_task_tries"] = failed_tasks.get(c.channel + ":tries")
        rows.append(row)
        print(json.dumps(row), flush=True)
    ok = [r for r in rows if not r["fails_on_purpose"]]
    bad = [r for r in rows if r["fails_on_purpose"]]
    done = [r["done_s"] for r in ok]
    videos = sum(r["published_video"] for r in ok)
    shorts = sum(r["published_short"] for r in ok)
    median = statistics.median(done) if done else 0.0
    others = max(0.0, machine - stack_cpu - own) / wall
    return {
        "channels": n,
        "seconds": seconds,
        "failing_channel": failing,
        "failing_channel_failed_only_itself": bool(bad)
        and all(r["longform"] == "failed" and not r["published_video"] for r in bad)
        and all(
            r["longform"] == r["shorts"] == "success" and r["published_video"] and r["published_short"]
            for r in ok
        ),
        "failing_channel_failed_tasks": bad[0].get("failed_tasks") if bad else None,
        "failing_channel_failed_task_tries": bad[0].get("failed_task_tries") if bad else None,
        "wall_s": round(wall, 1),
        "videos_published": videos,
        "shorts_published": shorts,
        "videos_per_hour": round(videos / wall * 3600, 1),
        "shorts_per_hour": round(shorts / wall * 3600, 1),
        "channel_done_s_median": round(median, 1),
        "channel_done_s_min_max": [round(min(done), 1), round(max(done), 1)] if done else None,
        "slowest_over_median": round(max(done) / median, 2) if done and median else None,
        "render_pool_slots": slots,
        "max_render_tasks_running_ffmpeg": sampler.max_render_tasks,
        "max_render_encoders_at_once": sampler.max_render_encoders,
        "max_render_ffmpeg_at_once": sampler.max_render_ffmpeg,
        "max_ffmpeg_any_stage_at_once": sampler.max_ffmpeg,
        "max_render_pool_running_slots": max_pool_running,
        "render_tasks_seen": len(sampler.render_tasks_seen),
        "renders_within_slots": sampler.max_render_tasks <= slots and max_pool_running <= slots,
        "samples": sampler.samples,
        "sample_ms_median": round(statistics.median(sampler.sample_s) * 1000, 1)
        if sampler.sample_s
        else None,
        "sampler_errors": sampler.errors,
        "sampler_cpu_s": round(sampler.own_cpu_s, 1),
        "stack_cores_busy": round(stack_cpu / wall, 2),
        "others_cores": round(others, 2),
        "load_average_before": load_before,
        "load1_during_mean_max": [round(statistics.mean(loads), 2), round(max(loads), 2)] if loads else None,
        "load_average_after": load(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30, help="each long-form's target length (20-1800)")
    parser.add_argument(
        "--parse-counts", default="1,5,10,20", help="channel counts to parse the DAG file with"
    )
    parser.add_argument("--repeat", type=int, default=5, help="parses of each count (the median stands)")
    parser.add_argument("--skip-parse", action="store_true")
    parser.add_argument("--skip-run", action="store_true")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds the whole run may take")
    opts = parser.parse_args()
    if opts.channels < 2 and not opts.skip_run:
        parser.error("--channels: at least 2 (one fails on purpose, the others must not)")
    summary: dict = {"case": "summary", "cpu_count": os.cpu_count(), "load_average_start": load()}
    try:
        if not opts.skip_parse:
            summary["parse"] = parse_times([int(n) for n in opts.parse_counts.split(",")], opts.repeat)
        if not opts.skip_run:
            summary["run"] = run_all(opts.channels, opts.seconds, opts.timeout)
    finally:
        summary["load_average_end"] = load()
        print(json.dumps(summary), flush=True)
        import shutil

        shutil.rmtree(_tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
