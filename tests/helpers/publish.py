"""Publish items for provider tests: a PublishItem with a listing YouTube accepts, its files in a folder."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from pipelines.providers.publish.base import PublishItem, UploadRecord


def make_item(
    folder: Path, *, video_bytes: int = 1024, name: str = "00001-longform", **changes
) -> PublishItem:
    """An item of channel science_en with a `video_bytes` video (random bytes), a thumbnail and captions."""
    import os

    folder.mkdir(parents=True, exist_ok=True)
    video = folder / f"{name}.mp4"
    if not video.exists() or video.stat().st_size != video_bytes:
        with video.open("wb") as f:
            left = video_bytes
            while left:
                block = os.urandom(min(left, 1 << 20))
                f.write(block)
                left -= len(block)
    thumb = folder / "thumb.jpg"
    thumb.write_bytes(b"\xff\xd8\xff\xe0" + b"jpeg" * 64)
    srt = folder / "captions.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:02,000\nHello there.\n", encoding="utf-8")
    item = PublishItem(
        name=name,
        kind="longform",
        channel="science_en",
        production_id=1,
        dag_run_id="run-a",
        title="The Hubble Space Telescope",
        description="What Hubble saw.\n\nHow this video was made: written and voiced by software.",
        tags=["space", "science fiction"],
        category_id="28",
        language="en",
        privacy="private",
        made_for_kids=False,
        notify_subscribers=False,
        publish_at=datetime(2030, 1, 1, 17, 0, tzinfo=UTC),
        video=video,
        thumbnail=thumb,
        captions=srt,
    )
    return replace(item, **changes)


class MemoryLedger:
    """The Ledger protocol in memory: (method, ok, reason) per call, and the production each was made for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool, str]] = []
        self.productions: list[int | None] = []

    def record(self, method: str, ok: bool, reason: str = "", *, production_id: int | None = None) -> None:
        self.calls.append((method, ok, reason))
        self.productions.append(production_id)

    def methods(self, ok: bool | None = None) -> list[str]:
        return [m for m, good, _ in self.calls if ok is None or good == ok]


class FileStore:
    """The UploadStore protocol in a JSON file, durable at every save (a killed process loses nothing), so a
    test can kill an uploading process and resume in another."""

    def __init__(self, path: Path):
        self.path = path

    def _all(self) -> dict:
        import json

        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def load(self, item: PublishItem) -> UploadRecord:
        data = self._all().get(item.name)
        if data is None:
            return UploadRecord(item=item.name, size=item.video.stat().st_size)
        return UploadRecord(**data)

    def save(self, record: UploadRecord) -> None:
        from dataclasses import asdict

        from pipelines.files import write_json

        data = self._all()
        data[record.item] = asdict(record)
        write_json(self.path, data)

    def taken_slots(self) -> dict[str, datetime]:
        return {}


def youtube_publisher(
    fake, store, ledger, refresh_token: str, *, expected: str = "", chunk: int = 256 * 1024
):
    """A YouTubePublisher of channel science_en talking to `fake` (tests.helpers.fake_youtube), no backoff."""
    from pipelines.providers.publish.youtube import ChannelToken, OAuthClient, YouTubeAPI, YouTubePublisher

    cfg = fake.client_config()["installed"]
    client = OAuthClient(
        "main", cfg["client_id"], cfg["client_secret"], cfg["token_uri"], cfg["auth_uri"], fake.url
    )
    api = YouTubeAPI(
        client, ChannelToken(refresh_token), ledger, channel="science_en", backoff=lambda n: 0.05
    )
    return YouTubePublisher(api, store, expected, chunk_bytes=chunk)
