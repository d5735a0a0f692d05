"""Offline publish provider: an outbox folder per channel, shaped like an upload, kept in the production
storage (pipelines.storage: the data folder by default, `channels/<channel>/outbox/`; a bucket when one is
configured, so any worker, and the calendar, sees every item).

Each item is a folder holding the files and `metadata.json` (what the YouTube provider would send:
title, description, tags, privacy, made-for-kids, publish time). `receipt.json` is written last; an item
with a receipt is never published again."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from pipelines import storage
from pipelines.errors import PermanentError
from pipelines.files import json_text
from pipelines.providers.publish.base import PublishItem, UploadRecord
from pipelines.storage import Storage


class OutboxConflict(PermanentError, RuntimeError):
    """The outbox item already holds another run's upload; it is kept, and retrying meets it again: move it
    away first."""


class OutboxPublisher:
    """The publish slot's offline default: each item a folder of the channel's outbox (see the module's
    docstring). `store` and `prefix` default to the production storage and `channels/<channel>/outbox`."""

    name = "local outbox"

    def __init__(self, channel: str, store: Storage | None = None, prefix: str | None = None):
        self.store = store or storage.get()
        self.prefix = prefix or f"channels/{channel}/outbox"
        # the folder, when the storage is one (None for a bucket)
        self.root = self.store.local_root / self.prefix if self.store.local_root is not None else None

    def _json(self, key: str) -> dict | None:
        data = self.store.read_bytes(key)
        return None if data is None else json.loads(data)

    def items(self) -> list[tuple[str, dict, dict | None]]:
        """Each item of the outbox: its name, its metadata.json and its receipt.json (None while it is
        being placed). An item whose metadata cannot be read is left out."""
        keys = set(self.store.list(self.prefix))
        out = []
        for key in sorted(keys):
            name, _, file = key.removeprefix(f"{self.prefix}/").partition("/")
            if file != "metadata.json":
                continue
            try:
                meta = self._json(key)
                receipt = self._json(f"{self.prefix}/{name}/receipt.json")
            except (ValueError, UnicodeDecodeError):
                continue  # not one of ours
            if isinstance(meta, dict):
                out.append((name, meta, receipt if isinstance(receipt, dict) else None))
        return out

    def taken_slots(self) -> dict[str, datetime]:
        """The publish times of the items in the outbox, from their metadata.json."""
        slots = {name: meta.get("publish_at") for name, meta, _ in self.items()}
        return {name: datetime.fromisoformat(at) for name, at in slots.items() if at}

    def calls(self, item: PublishItem, record: UploadRecord | None = None) -> list[str]:
        """None: the outbox has no quota."""
        return []

    def publish(self, item: PublishItem) -> dict:
        """Place the files, then metadata.json, then receipt.json in the item's folder; returns the receipt.
        An item this run already published returns its receipt; one another run published raises
        OutboxConflict."""
        folder = f"{self.prefix}/{item.name}"
        done = self._json(f"{folder}/receipt.json")
        if done is not None:
            if done.get("dag_run_id") != item.dag_run_id:  # never answer with another run's upload
                raise OutboxConflict(
                    f"outbox item {self.store.where(folder)} already holds the upload of run "
                    f"{done.get('dag_run_id')}; it is kept as it is: move it away to publish this run"
                )
            return done
        files: dict[str, Path | None] = {
            "video.mp4": item.video,
            "thumbnail.jpg": item.thumbnail,
            "captions.srt": item.captions,
        }
        placed = [(src, f"{folder}/{name}") for name, src in files.items() if src is not None]
        self.store.put_many(placed)  # a folder on the same disk: linked, no copy of a large video
        metadata = item.metadata()
        self.store.write_bytes(f"{folder}/metadata.json", json_text(metadata).encode())
        data = {
            "provider": self.name,
            "folder": self.store.where(folder),
            "files": {key.rsplit("/", 1)[1]: self.store.where(key) for _, key in placed},
            "publish_at": metadata["publish_at"],
            "dag_run_id": item.dag_run_id,
            "published_at": datetime.now().astimezone().isoformat(),
        }
        self.store.write_bytes(f"{folder}/receipt.json", json_text(data).encode())
        return data
