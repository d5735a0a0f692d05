"""The publish slot's interface: a `Publisher` puts one item (a long-form video or a Short: its files and
metadata) on the channel, exactly once, and says which publish slots are already taken. The offline
default is the local outbox (publish.outbox); the YouTube Data API provider comes beside it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol


class Publisher(Protocol):
    """Publishes a channel's items; `publish` of an item already published returns its first receipt."""

    name: str

    def taken_slots(self) -> set[datetime]:
        """The publish times already given to items of this channel."""
        ...

    def publish(self, item: str, files: dict[str, Path], metadata: dict) -> dict:
        """Publish `item` (a stable name: the same item is never published twice); returns its receipt."""
        ...
