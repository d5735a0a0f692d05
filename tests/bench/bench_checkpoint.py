"""How soon a decision resumes its production: from the decision's commit to the checkpoint trigger firing.

Runs on a private embedded PostgreSQL in a temporary folder. 20 checkpoints wait at once, each with the
trigger the sensor defers to (the DAG's poll: 15 s); 20 decisions are made at random moments, as reviewers
would, through `review.decide` (what the page, the REST API and the CLI call). Reported: p50/p95 of the
delay with LISTEN/NOTIFY, and the same with polling only (`listen=False`, the baseline), in this run. What
follows the trigger (the triggerer hands the event to the scheduler, which starts the next task) is the same
for both and not part of this figure."""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

DECISIONS = 20
POLL = 15.0

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    os.environ["NICHEFLOW_PG_PORT"] = str(s.getsockname()[1])
_tmp = tempfile.mkdtemp(prefix="nicheflow-bench-")
os.chmod(_tmp, 0o755)
os.environ["NICHEFLOW_DATA_DIR"] = _tmp
REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]

from nicheflow_airflow.triggers import CheckpointTrigger  # noqa: E402

from pipelines import checkpoints, db, production, review  # noqa: E402
from pipelines.local import pgembed  # noqa: E402


def waiting(url: str, run: str) -> list[int]:
    """DECISIONS productions, each waiting at its script checkpoint."""
    ids = []
    with db.connect(url) as conn:
        for i in range(DECISIONS):
            p = production.create(conn, "science_en", f"Topic {i}", f"bench__{run}_{i}")
            ids.append(checkpoints.open_checkpoint(conn, p.id, p.channel, "script", 1, {}).id)
    return ids


def delays(url: str, ids: list[int], listen: bool, rng: random.Random) -> list[float]:
    """Seconds from each decision's commit to its trigger's event."""
    committed: dict[int, float] = {}
    fired: dict[int, float] = {}

    def reviewer():
        time.sleep(1.0)  # every trigger is listening and has read its row
        for cid in rng.sample(ids, len(ids)):
            time.sleep(rng.uniform(0.1, 2 * POLL / DECISIONS * 2))
            with db.connect(url) as conn:
                review.decide(conn, cid, "approved", "bench")
            committed[cid] = time.monotonic()

    async def wait(cid: int):
        gen = CheckpointTrigger(cid, poll_seconds=POLL, listen=listen).run()
        await gen.__anext__()
        fired[cid] = time.monotonic()
        await gen.aclose()

    async def all_of_them():
        await asyncio.gather(*(wait(cid) for cid in ids))

    thread = threading.Thread(target=reviewer)
    thread.start()
    asyncio.run(all_of_them())
    thread.join()
    return [fired[c] - committed[c] for c in ids]


def main() -> None:
    url = pgembed.ensure_running()
    os.environ["DATABASE_URL"] = url
    try:
        db.migrate(url)
        rng = random.Random(11)
        rows = {}
        for name, listen in (("listen_notify", True), ("polling_only", False)):
            xs = delays(url, waiting(url, name), listen, rng)
            q = statistics.quantiles(xs, n=100)
            rows[name] = {"p50_s": round(q[49], 3), "p95_s": round(q[94], 3), "max_s": round(max(xs), 3)}
            print(json.dumps({"case": name, "decisions": len(xs), "poll_seconds": POLL, **rows[name]}))
        ours, base = rows["listen_notify"], rows["polling_only"]
        print(
            json.dumps(
                {
                    "case": "summary",
                    "p50_polling_over_notify": round(base["p50_s"] / max(ours["p50_s"], 1e-3), 1),
                    "p95_polling_over_notify": round(base["p95_s"] / max(ours["p95_s"], 1e-3), 1),
                }
            )
        )
    finally:
        pgembed.stop()


if __name__ == "__main__":
    main()
