"""Many channels from the two samples, for the 20-channel benchmark (tests/bench/bench_channels.py) and its
fast test (tests/dags/test_many_channels.py): each a copy of science_en (English) or historia_ptbr
(Portuguese), alternately, with its own id and title, manual runs only, a short target length and the
sample's own source documents, so its knowledge works offline."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipelines.config import load_config
from pipelines.paths import REPO

SAMPLES = ("science_en", "historia_ptbr")


def channel_ids(n: int) -> list[str]:
    """science_en_01, historia_ptbr_02, science_en_03, ...: half of each language (the odd one English)."""
    return [f"{SAMPLES[i % 2]}_{i + 1:02d}" for i in range(n)]


def write_channels(
    folder: Path, n: int, *, target_seconds: int = 30, poll_seconds: float = 2
) -> dict[str, Path]:
    """Write `n` channel YAMLs into `folder` (made if missing); returns channel id -> file. Each is
    validated as the DAG file will load it (a field the config refuses fails here, naming it). Channels of
    one sample take its backlog from a different topic each, so they do not all make the same video."""
    folder.mkdir(parents=True, exist_ok=True)
    samples = {
        s: yaml.safe_load((REPO / "niche_configs" / f"{s}.yaml").read_text(encoding="utf-8")) for s in SAMPLES
    }
    out: dict[str, Path] = {}
    for i, channel in enumerate(channel_ids(n)):
        data = dict(samples[SAMPLES[i % 2]])
        topics = list(data["topics"])
        shift = (i // 2) % len(topics)
        data.update(
            {
                "channel": channel,
                "title": f"{data['title']} #{i + 1}",
                "schedule": None,
                "target_seconds": target_seconds,
                "topics": topics[shift:] + topics[:shift],
                "checkpoints": {**data["checkpoints"], "poll_seconds": poll_seconds},
            }
        )
        path = folder / f"{channel}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        load_config(path)
        out[channel] = path
    return out
