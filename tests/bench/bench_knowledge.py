"""Knowledge query latency with 1,000,000 facts in one channel (issue 4's goal: p95 under 20 ms).

Runs on a private embedded PostgreSQL in a temporary folder. Reports p50/p95 of `knowledge.query`
(the call a production makes, on a connection entered into the channel as the stages do) for 1M facts, and
the same queries on 10,000 facts as the baseline of this run; another channel holds 200,000 facts that must
never be returned."""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

BIG, SMALL, OTHER = 1_000_000, 10_000, 200_000
QUERIES = int(os.environ.get("BENCH_QUERIES", "200"))

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    os.environ["NICHEFLOW_PG_PORT"] = str(s.getsockname()[1])
_tmp = tempfile.mkdtemp(prefix="nicheflow-bench-")
os.chmod(_tmp, 0o755)
os.environ["NICHEFLOW_DATA_DIR"] = _tmp
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from knowledge.query import query  # noqa: E402
from knowledge.store import ensure_channel_index, open_channel  # noqa: E402
from pipelines import db  # noqa: E402
from pipelines.local import pgembed  # noqa: E402

rng = random.Random(7)
NOUNS = (
    "telescope probe rover orbit planet moon star galaxy comet asteroid mission crew engine rocket station "
    "satellite nebula crater volcano ocean atmosphere magnetic field signal camera spectrometer launch "
    "landing module antenna solar panel radiation gravity dust ice water carbon helium hydrogen"
).split()
NAMES = (
    "Apollo Voyager Hubble Cassini Juno Kepler Gemini Mercury Vostok Soyuz Curiosity Perseverance Galileo "
    "Pioneer Rosetta Spitzer Chandra Webb Skylab Mir"
).split()


def sentence(i: int) -> str:
    words = rng.sample(NOUNS, 7)
    return (
        f"The {rng.choice(NAMES)} {words[0]} {words[1]} reached the {words[2]} of the {words[3]} in "
        f"{1950 + i % 75} with a {words[4]} and {words[5]} near the {words[6]} ({i})."
    )


def load(conn, channel: str, n: int) -> None:
    with conn.cursor().copy(
        "COPY facts (channel, language, claim, source_title, confidence) FROM STDIN"
    ) as cp:
        for i in range(n):
            cp.write_row((channel, "english", sentence(i), "generated benchmark source", 0.5))


def latencies(conn, channel: str, topics: list[str]) -> list[float]:
    out = []
    for t in topics:
        start = time.perf_counter()
        report = query(conn, channel, "english", t, needed=6)
        out.append((time.perf_counter() - start) * 1000)
        assert all(f.source_title == "generated benchmark source" for f in report.facts)
    return out


def main() -> None:
    url = pgembed.ensure_running()
    try:
        db.migrate(url)
        with db.connect(url) as conn:
            t0 = time.perf_counter()
            load(conn, "bench_big", BIG)
            load(conn, "bench_small", SMALL)
            load(conn, "bench_other", OTHER)
            for channel in ("bench_big", "bench_small", "bench_other"):
                ensure_channel_index(conn, channel)  # what open_channel does when a channel is first opened
            conn.execute("ANALYZE facts")
            load_s = time.perf_counter() - t0
        topics = [f"The {rng.choice(NAMES)} {rng.choice(NOUNS)} {rng.choice(NOUNS)}" for _ in range(QUERIES)]
        with db.connect(url) as conn:
            open_channel(conn, "bench_big")
            latencies(conn, "bench_big", topics[:20])  # warm the cache
            big = latencies(conn, "bench_big", topics)
        with db.connect(url) as conn:
            open_channel(conn, "bench_small")
            small = latencies(conn, "bench_small", topics)

        def p(xs, q):
            return round(statistics.quantiles(xs, n=100)[q - 1], 2)

        for name, xs, n in (("1M facts", big, BIG), ("10k facts (baseline)", small, SMALL)):
            print(
                json.dumps(
                    {"case": name, "facts": n, "queries": len(xs), "p50_ms": p(xs, 50), "p95_ms": p(xs, 95)}
                )
            )
        print(
            json.dumps(
                {
                    "case": "summary",
                    "load_s": round(load_s, 1),
                    "p95_ratio_1M_over_10k": round(p(big, 95) / p(small, 95), 2),
                    "goal_p95_ms": 20,
                    "met": p(big, 95) < 20,
                }
            )
        )
    finally:
        pgembed.stop()


if __name__ == "__main__":
    main()
