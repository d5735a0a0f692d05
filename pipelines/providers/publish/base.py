"""The publish slot's interface: a `Publisher` puts one item (a long-form video or a Short: its files and
listing) on the channel, exactly once, and says which publish slots are already taken. The offline default
is the local outbox (publish.outbox); beside it the YouTube Data API provider (publish.youtube).

What a provider needs from the project it gets as small interfaces: an `UploadStore` that keeps each
item's progress (the stage keeps it in PostgreSQL) and a `Ledger` that records every API call against its
quota. A provider never touches the database itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class PublishItem:
    """One video to publish with everything YouTube is sent about it. `name` is stable (the same item is
    never published twice); `publish_at` None means at once, with `privacy`; else it goes up private and
    YouTube makes it public at that time."""

    name: str  # e.g. 00042-longform, 00042-short-1
    kind: Literal["longform", "short"]
    channel: str
    production_id: int
    dag_run_id: str
    title: str
    description: str
    tags: list[str]
    category_id: str
    language: str  # BCP-47: snippet.defaultLanguage, defaultAudioLanguage, the captions' language
    privacy: Literal["private", "unlisted", "public"]
    made_for_kids: bool
    notify_subscribers: bool
    publish_at: datetime | None
    video: Path
    thumbnail: Path | None = None
    captions: Path | None = None
    playlists: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # recorded with the item (duration, source window)

    def metadata(self) -> dict[str, Any]:
        """The item's listing as JSON (what the outbox writes as metadata.json)."""
        return {
            "kind": self.kind,
            "channel": self.channel,
            "production_id": self.production_id,
            "dag_run_id": self.dag_run_id,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "category_id": self.category_id,
            "language": self.language,
            "privacy": self.privacy,
            "made_for_kids": self.made_for_kids,
            "contains_synthetic_media": True,
            "notify_subscribers": self.notify_subscribers,
            "playlists": list(self.playlists),
            "publish_at": self.publish_at.isoformat() if self.publish_at else None,
            **self.extra,
        }


@dataclass
class UploadRecord:
    """Where one item's publishing stands, kept across task attempts by the `UploadStore`."""

    item: str
    size: int
    session_uri: str | None = None
    progress: int = 0  # bytes the server acknowledged
    sessions: int = 0  # upload sessions started
    video_id: str | None = None
    youtube_channel: str | None = None
    steps: dict[str, str] = field(default_factory=dict)  # thumbnail/captions/playlist:<id> -> done | why not


class UploadStore(Protocol):
    """Keeps `UploadRecord`s; `save` must be durable when it returns (a crash right after loses nothing)."""

    def load(self, item: PublishItem) -> UploadRecord:
        """The item's record (a new one the first time)."""
        ...

    def save(self, record: UploadRecord) -> None:
        """Store the record as it is now."""
        ...

    def taken_slots(self) -> dict[str, datetime]:
        """The publish time of every item of the channel that has one (item name -> time)."""
        ...


class Ledger(Protocol):
    """Counts API calls against the quota of the project the provider's credentials belong to."""

    def record(self, method: str, ok: bool, reason: str = "", *, production_id: int | None = None) -> None:
        """One call of `method` (e.g. videos.insert), successful or not (failed calls cost quota too), made
        for production `production_id` when given."""
        ...


class Publisher(Protocol):
    """Publishes a channel's items; `publish` of an item already published returns its first receipt."""

    name: str

    def calls(self, item: PublishItem, record: UploadRecord | None = None) -> list[str]:
        """The API calls publishing `item` still needs (after what `record` says is done), to check the quota
        before starting; empty for a provider without quota."""
        ...

    def publish(self, item: PublishItem) -> dict:
        """Publish `item`; returns its receipt (JSON)."""
        ...
