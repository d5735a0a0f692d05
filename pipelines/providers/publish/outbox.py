"""Offline publish provider: a local outbox folder per channel, shaped like an upload.

Each item is a folder holding the files and `metadata.json` (what the YouTube provider would send:
title, description, tags, privacy, made-for-kids, publish time). `receipt.json` is written last; an item
with a receipt is never published again."""

from __future__ import annotations

from datetime import datetime

from pipelines.errors import PermanentError
from pipelines.files import link_or_copy, read_json, write_json
from pipelines.paths import outbox_dir
from pipelines.providers.publish.base import PublishItem, UploadRecord


class OutboxConflict(PermanentError, RuntimeError):
    """The outbox item already holds another run's upload; it is kept, and retrying meets it again: move it
    away first."""


class OutboxPublisher:
    """The publish slot's offline default: each item a folder of the channel's outbox (see the module's
    docstring)."""

    name = "local outbox"

    def __init__(self, channel: str):
        self.root = outbox_dir(channel)

    def taken_slots(self) -> dict[str, datetime]:
        """The publish times of the items in the outbox, from their metadata.json."""
        slots = {m.parent.name: read_json(m).get("publish_at") for m in self.root.glob("*/metadata.json")}
        return {name: datetime.fromisoformat(at) for name, at in slots.items() if at}

    def calls(self, item: PublishItem, record: UploadRecord | None = None) -> list[str]:
        """None: the outbox has no quota."""
        return []

    def publish(self, item: PublishItem) -> dict:
        """Place the files, then metadata.json, then receipt.json in the item's folder; returns the receipt.
        An item this run already published returns its receipt; one another run published raises
        OutboxConflict."""
        folder = self.root / item.name
        receipt = folder / "receipt.json"
        if receipt.exists():
            done = read_json(receipt)
            if done.get("dag_run_id") != item.dag_run_id:  # never answer with another run's upload
                raise OutboxConflict(
                    f"outbox item {folder} already holds the upload of run {done.get('dag_run_id')}; "
                    "it is kept as it is: move it away to publish this run"
                )
            return done
        folder.mkdir(parents=True, exist_ok=True)
        files = {"video.mp4": item.video, "thumbnail.jpg": item.thumbnail, "captions.srt": item.captions}
        placed = {
            name: str(link_or_copy(src, folder / name))  # same disk: no copy of a large video
            for name, src in files.items()
            if src is not None
        }
        metadata = item.metadata()
        write_json(folder / "metadata.json", metadata)
        data = {
            "provider": self.name,
            "folder": str(folder),
            "files": placed,
            "publish_at": metadata["publish_at"],
            "dag_run_id": item.dag_run_id,
            "published_at": datetime.now().astimezone().isoformat(),
        }
        write_json(receipt, data)
        return data
