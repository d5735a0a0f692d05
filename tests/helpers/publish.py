"""Publish items for provider tests: a PublishItem with a listing YouTube accepts, its files in a folder."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from pipelines.providers.publish.base import PublishItem


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
