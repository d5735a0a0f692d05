"""Offline publish provider: a local outbox folder per channel, shaped like an upload.

Each item is a folder holding the files and `metadata.json` (what the YouTube provider would send:
title, description, tags, privacy, made-for-kids, publish time). `receipt.json` is written last; an item
with a receipt is never published again."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

from pipelines.errors import PermanentError
from pipelines.paths import outbox_dir
from pipelines.production import read_json, write_json


class OutboxConflict(PermanentError, RuntimeError):
    """The outbox item already holds another run's upload; it is kept, and retrying meets it again: move it
    away first."""


class OutboxPublisher:
    name = "local outbox"

    def __init__(self, channel: str):
        self.root = outbox_dir(channel)

    def taken_slots(self) -> set[datetime]:
        return {datetime.fromisoformat(read_json(m)["publish_at"]) for m in self.root.glob("*/metadata.json")}

    def publish(self, item: str, files: dict[str, Path], metadata: dict) -> dict:
        folder = self.root / item
        receipt = folder / "receipt.json"
        if receipt.exists():
            done = read_json(receipt)
            if done.get("dag_run_id") != metadata["dag_run_id"]:  # never answer with another run's upload
                raise OutboxConflict(
                    f"outbox item {folder} already holds the upload of run {done.get('dag_run_id')}; "
                    "it is kept as it is: move it away to publish this run"
                )
            return done
        folder.mkdir(parents=True, exist_ok=True)
        placed = {}
        for name, src in files.items():
            dst = folder / name
            dst.unlink(missing_ok=True)
            try:
                os.link(src, dst)  # same disk: no copy of a large video
            except OSError:
                shutil.copy2(src, dst)
            placed[name] = str(dst)
        write_json(folder / "metadata.json", metadata)
        data = {
            "provider": self.name,
            "folder": str(folder),
            "files": placed,
            "publish_at": metadata["publish_at"],
            "dag_run_id": metadata["dag_run_id"],
            "published_at": datetime.now().astimezone().isoformat(),
        }
        write_json(receipt, data)
        return data
