"""The offline publish provider: a local outbox folder per channel, each item published once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipelines.files import read_json
from tests.helpers.publish import make_item


def test_an_item_lands_once_with_its_files_and_listing(data_dir, tmp_path):
    from pipelines.providers.publish.outbox import OutboxPublisher

    item = make_item(tmp_path / "files")
    outbox = OutboxPublisher("science_en")
    first = outbox.publish(item)
    folder = outbox.root / item.name
    assert sorted(p.name for p in folder.iterdir()) == [
        "captions.srt",
        "metadata.json",
        "receipt.json",
        "thumbnail.jpg",
        "video.mp4",
    ]
    meta = read_json(folder / "metadata.json")
    assert meta["title"] == item.title and meta["contains_synthetic_media"] is True
    assert meta["publish_at"] == "2030-01-01T17:00:00+00:00"
    assert outbox.taken_slots() == {item.name: item.publish_at}
    assert outbox.publish(item) == first  # a retry answers with the first receipt


def test_outbox_never_answers_with_another_runs_upload(data_dir, tmp_path):
    from pipelines.providers.publish.outbox import OutboxConflict, OutboxPublisher

    item = make_item(tmp_path / "files")
    outbox = OutboxPublisher("science_en")
    outbox.publish(item)
    with pytest.raises(OutboxConflict, match="already holds the upload of run run-a"):
        outbox.publish(replace(item, dag_run_id="run-b"))
