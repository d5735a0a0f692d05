"""`nicheflow logs`' reader: one production's lines from the run's task logs (fields filled in from the file
they are in), its Shorts and the CLI, in time order, and nothing of another production that had the same id
before the database was reset."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pipelines.logfields import read_production_logs


def write(path: Path, *records: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_one_productions_lines_in_order_and_not_an_older_one_with_the_same_id(tmp_path: Path) -> None:
    logs, cli = tmp_path / "logs", tmp_path / "cli.jsonl"
    run = logs / "dag_id=longform_science_en" / "run_id=manual__1"
    write(
        run / "task_id=script" / "attempt=1.log",
        {"timestamp": "2026-12-01T10:00:02Z", "event": "Pre Execute"},
    )
    write(
        run / "task_id=review_script" / "attempt=1.log.trigger.2.log",
        {"timestamp": "2026-12-01T10:00:05Z", "event": "trigger starting"},
    )
    write(
        logs / "dag_id=shorts_science_en" / "run_id=asset_1" / "task_id=shorts" / "attempt=1.log",
        {"timestamp": "2026-12-01T10:09:00Z", "event": "short of 7", "production_id": 7},
        {"timestamp": "2026-12-01T10:09:01Z", "event": "short of 1", "production_id": 1, "stage": "shorts"},
    )
    mine = {"channel": "science_en", "production_id": 1, "stage": "review_script"}
    write(
        cli,
        {
            "timestamp": "2026-11-30T09:00:00Z",
            "event": "checkpoint 1 approved (cli)",
            **mine,
        },  # before a reset
        {"timestamp": "2026-12-01T10:00:04Z", "event": "checkpoint 1 approved (cli)", **mine},
        {"timestamp": "2026-12-01T10:00:04Z", "event": "other channel", **mine, "channel": "historia_ptbr"},
    )
    since = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    lines = read_production_logs(logs, cli, 1, "science_en", "manual__1", since)
    assert [(line.source, line.record["event"]) for line in lines] == [
        ("script attempt 1", "Pre Execute"),
        ("cli", "checkpoint 1 approved (cli)"),
        ("review_script trigger", "trigger starting"),
        ("shorts attempt 1", "short of 1"),
    ]
    # a line of the run written before its task bound the fields gets them from its file
    assert lines[0].record | {"event": ""} == {
        "timestamp": "2026-12-01T10:00:02Z",
        "event": "",
        "channel": "science_en",
        "production_id": 1,
        "stage": "script",
    }
