"""The b-roll stage against local servers speaking Pexels' and Pixabay's APIs (real httpx, real JPEG/MP4
downloads, real PostgreSQL): relevance, fall-through on errors, broader terms, generated fallback,
the content-hash cache, no repeats per channel, and the credits in the published description."""

from __future__ import annotations

import logging
import os

import pytest

from pipelines import production
from pipelines.artifacts import Render, Segment, StoredScript, VisualItem
from pipelines.config import ConfigError, load_config
from pipelines.db import connect
from pipelines.errors import PermanentError
from pipelines.files import read_json, write_json
from pipelines.media.cache import sha256_file
from pipelines.media.ffmpeg import probe
from pipelines.providers.broll.stock import Pixabay
from pipelines.providers.http import ProviderError, ProviderRejected
from pipelines.stages import broll
from pipelines.stages.publish import description
from tests.helpers import edit_yaml
from tests.helpers.fake_research_servers import Failure, status
from tests.helpers.fake_stock_servers import FakePexels, FakePixabay, make_media

ITEM_KEYS = {
    "segment",
    "kind",
    "path",
    "source",
    "licence",
    "attribution",
    "url",
    "description",
    "width",
    "height",
    "duration",
    "id",
}
TOPIC = "Rockets and the Moon"


def segment(heading: str, cue: str, text: str, on_screen: str = "") -> dict:
    return {
        "heading": heading,
        "visual_cue": cue,
        "on_screen_text": on_screen,
        "sentences": [{"text": text, "fact_ids": []}],
    }


SCRIPT = {
    "title": TOPIC,
    "language": "en",
    "disclosure": "Script by a test.",
    "description": "",
    "sources": [],
    "segments": [
        segment("Liftoff", "rocket launch", "The rocket left the pad at dawn.", "3, 2, 1… liftoff"),
        segment("Watching", "telescope dome", "Astronomers watched from the dome."),
        segment("Elsewhere", "quantum zebra", "Zebras have stripes."),
    ],
}
TIMINGS = {
    "duration": 12.0,
    "words": [],
    "segments": [{"segment": i, "start": 4.0 * i, "end": 4.0 * i + 3.8} for i in range(3)],
}


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return make_media(tmp_path_factory.mktemp("stock-files"))


@pytest.fixture
def stock(media, monkeypatch, database, data_dir, configs):
    with FakePexels(media) as pexels, FakePixabay(media) as pixabay:
        monkeypatch.setenv("PEXELS_API_KEY", pexels.valid_key)
        monkeypatch.setenv("PEXELS_BASE_URL", pexels.url)
        monkeypatch.setenv("PIXABAY_API_KEY", pixabay.valid_key)
        monkeypatch.setenv("PIXABAY_BASE_URL", pixabay.url)
        yield pexels, pixabay


def make_production(
    channel: str = "science_en", script: dict = SCRIPT, topic: str = TOPIC, run: str = "1"
) -> production.Production:
    with connect() as conn:
        p = production.create(conn, channel, topic, f"test-{channel}-{run}")
    write_json(p.workspace / "script" / "r1" / "script.json", script)
    write_json(p.workspace / "audio" / "r1" / "timings.json", TIMINGS)
    return p


def gather(p: production.Production, revision: int = 1) -> dict:
    with connect() as conn:
        rel = broll.gather(conn, p, "script/r1/script.json", "audio/r1/timings.json", revision).visuals
    return read_json(p.abs(rel))


def credited(visuals: list[dict]) -> str:
    """The published description's text for these visuals (of the test script, without chapters)."""
    script = StoredScript.model_validate(SCRIPT)
    no_chapters = Render(duration=12.0, chapters=[])
    return description(script, no_chapters, "espeak-ng", [VisualItem.model_validate(v) for v in visuals])


def ids(manifest: dict) -> list[tuple[str, str]]:
    return [(o["source"], o["id"]) for opts in manifest["options"] for o in opts]


def test_stock_options_fit_the_segment_with_licence_and_attribution(stock):
    pexels, pixabay = stock
    p = make_production()
    m = gather(p)

    assert set(m) == {"provider", "visuals", "options"} and m["provider"] == "pexels, pixabay"
    assert [len(o) for o in m["options"]] == [3, 3, 3] and m["visuals"] == [o[0] for o in m["options"]]
    for opts in m["options"]:
        for o in opts:
            assert set(o) == ITEM_KEYS and (p.workspace / o["path"]).is_file()
            assert (
                o["width"] >= 1280 and o["width"] > o["height"]
            )  # landscape, wide enough: no portrait, no 900 px
    # "rocket launch": the matching clip first (videos preferred), then the photos that match both words
    first = m["options"][0]
    assert [(o["source"], o["id"], o["kind"]) for o in first] == [
        ("pexels", "201", "video"),
        ("pexels", "101", "image"),
        ("pexels", "102", "image"),
    ]
    assert first[0] | {"path": ""} == {
        "segment": 0,
        "kind": "video",
        "path": "",
        "source": "pexels",
        "licence": "Pexels License",
        "attribution": "Hal Ito / Pexels",
        "url": "https://www.pexels.com/video/rocket-launch-countdown-201/",
        "description": "rocket launch countdown",
        "width": 1280,
        "height": 720,
        "duration": 3.0,
        "id": "201",
    }
    # each segment's terms, broader only while options are missing; Pixabay only when Pexels had too few
    assert [(r.path, r.query["query"]) for r in pexels.searches()] == [
        (path, q)
        for q in ("rocket launch", "telescope dome", "quantum zebra", "Rockets Moon")
        for path in ("/videos/search", "/v1/search")
    ]
    assert [r.query["q"] for r in pixabay.searches()] == [
        q for q in ("telescope dome", "quantum zebra", "Rockets Moon") for _ in range(2)
    ]
    assert [(o["source"], o["id"]) for o in m["options"][1]] == [
        ("pexels", "103"),
        ("pixabay", "4001"),
        ("pixabay", "3001"),
    ]
    assert m["options"][1][2]["licence"] == "Pixabay Content License"
    # nothing for "quantum zebra": the topic's words found moon footage instead
    assert [(o["source"], o["id"]) for o in m["options"][2]] == [
        ("pexels", "202"),
        ("pexels", "107"),
        ("pixabay", "3004"),
    ]
    # keys go only where each API wants them, never to the file downloads
    assert all(r.headers.get("authorization") == pexels.valid_key for r in pexels.searches())
    assert all(r.query["key"] == pixabay.valid_key for r in pixabay.searches())
    assert all("authorization" not in r.headers for r in pexels.downloads() + pixabay.downloads())

    # the credits reach the published description (generated visuals are covered by the Visuals line)
    text = credited(m["visuals"])
    assert "B-roll: Hal Ito / Pexels https://www.pexels.com/video/rocket-launch-countdown-201/" in text
    assert "B-roll: Ivy Jo / Pexels https://www.pexels.com/video/moon-phases-timelapse-202/" in text
    assert "pexels (Pexels License)" in text


def test_nothing_found_tries_broader_terms_then_generates(stock):
    pexels, _ = stock
    script = {
        **SCRIPT,
        "segments": [
            segment("Stripes", "zebra stripes pattern", "Zebras graze.", "Why stripes?"),
            segment("Grass", "savanna grass", "Grass grows."),
        ],
    }
    p = make_production(script=script, topic="Quiet gardens")
    m = gather(p)
    queries = [r.query["query"] for r in pexels.searches() if r.path == "/v1/search"]
    assert queries[:3] == ["zebra stripes pattern", "zebra stripes", "Quiet gardens"]
    card, motion, card2 = m["options"][0]
    assert [o["source"] for o in (card, motion, card2)] == ["generated"] * 3
    assert (card["kind"], motion["kind"], card2["kind"]) == ("image", "video", "image")
    assert "Why stripes?" in card["description"] and card["licence"].startswith("CC0")
    assert m["options"][1][0]["description"].startswith(
        "Generated abstract illustration with the text: Grass"
    )
    info = probe(p.workspace / motion["path"])
    assert abs(info.duration - 4.0) <= 1 / 24 + 1e-6 and abs(motion["duration"] - 4.0) <= 1 / 24 + 1e-6
    assert m["provider"] == "generated"


def test_429_is_retried_after_the_wait_it_asks_for(stock):
    pexels, _ = stock
    pexels.fail(status(429, retry_after=0.4))
    m = gather(make_production())
    first, second = pexels.requests[:2]
    assert (first.status, second.status) == (429, 200) and second.at - first.at >= 0.4
    assert m["options"][0][0]["id"] == "201"


def test_a_bad_key_or_a_dead_provider_falls_through_to_the_next(stock, monkeypatch, caplog):
    pexels, pixabay = stock
    monkeypatch.setenv("PEXELS_API_KEY", "wrong-key-1234")
    with caplog.at_level(logging.WARNING):
        m = gather(make_production())
    assert len(pexels.searches()) == 1  # refused at once, and not asked again in this stage
    assert (
        "the pexels key was rejected: set a valid key in the Airflow connection 'pexels_default' or "
        "PEXELS_API_KEY" in caplog.text
    )
    assert "wrong-key-1234" not in caplog.text
    assert {o["source"] for opts in m["options"] for o in opts} <= {"pixabay", "generated"}
    assert m["options"][0][0]["source"] == "pixabay"  # Pixabay's rocket photo

    # a 5xx that outlasts the retries: the stage still completes, from the next provider
    monkeypatch.setenv("PEXELS_API_KEY", pexels.valid_key)
    pexels.fail(*[status(503, retry_after=0)] * 4)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        m = gather(make_production(channel="historia_ptbr"))
    assert "pexels failed and is not asked again" in caplog.text and "HTTP 503" in caplog.text
    assert m["options"][0][0]["source"] == "pixabay"


def test_an_answer_of_the_wrong_shape_falls_through_too(stock, caplog):
    pexels, _ = stock
    pexels.fail(
        Failure(
            status=200,
            body={
                "videos": [
                    {
                        "video_files": [  # a video without its id
                            {
                                "file_type": "video/mp4",
                                "width": 1920,
                                "height": 1080,
                                "link": pexels.file_url("v1.mp4"),
                            }
                        ]
                    }
                ]
            },
        )
    )
    with caplog.at_level(logging.WARNING):
        m = gather(make_production())
    assert "unexpected answer to a video search (KeyError" in caplog.text
    assert m["options"][0][0]["source"] == "pixabay"


def test_pixabay_bad_key_message_says_what_to_fix(stock):
    _, pixabay = stock
    client = Pixabay("not-a-key", base_url=pixabay.url)
    with pytest.raises(ProviderError) as e:
        client.search("rocket", "image")
    assert e.value.status == 400 and "PIXABAY_API_KEY" in str(e.value) and "pixabay_default" in str(e.value)
    assert isinstance(e.value, ProviderRejected) and isinstance(e.value, PermanentError)  # never retried
    assert "not-a-key" not in str(e.value) and len(pixabay.requests) == 1


def test_without_keys_every_visual_is_generated_and_the_log_says_why(
    database, data_dir, configs, monkeypatch, caplog
):
    for var in ("PEXELS_API_KEY", "PIXABAY_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with caplog.at_level(logging.WARNING):
        m = gather(make_production())
    assert (
        "pexels skipped: no key (set PEXELS_API_KEY or the Airflow connection pexels_default)" in caplog.text
    )
    assert "pixabay skipped: no key" in caplog.text
    assert {o["source"] for opts in m["options"] for o in opts} == {"generated"}


def test_downloads_are_cached_by_content_hash_and_verified(stock):
    pexels, pixabay = stock
    a = gather(make_production("science_en"))
    downloads = len(pexels.downloads()) + len(pixabay.downloads())
    cache = broll.cache()
    # 9 options downloaded; Pexels 107 and Pixabay 3004 are the same bytes: stored once
    assert downloads == 9 and cache.blob_count() == 8

    other = make_production("historia_ptbr")
    b = gather(other)  # another channel may use the same clips
    assert ids(b) == ids(a)
    assert len(pexels.downloads()) + len(pixabay.downloads()) == downloads  # nothing downloaded again
    assert cache.blob_count() == 8
    key = "pexels-201-video-1280x720"
    blob = cache.get(key)
    assert os.path.samefile(other.workspace / b["options"][0][0]["path"], blob)  # linked, not copied

    # a cached file whose bytes no longer match its hash is refused and downloaded again
    blob.write_bytes(blob.read_bytes()[:-10] + b"corrupted!")
    with connect() as conn:  # a month later, so the clip may be used again on science_en
        conn.execute("UPDATE broll_usage SET used_at = now() - interval '31 days'")
    before, searches = len(pexels.downloads()), len(pexels.searches())
    c = gather(make_production("science_en", run="2", script={**SCRIPT, "segments": SCRIPT["segments"][:1]}))
    assert c["options"][0][0]["id"] == "201"
    assert [r.path for r in pexels.downloads()[before:]] == ["/files/v1.mp4"]  # only the refused file
    assert len(pexels.searches()) == searches  # the same search on the same day: its answer was kept
    assert sha256_file(cache.get(key)) == cache.get(key).stem


@pytest.mark.slow
def test_no_clip_twice_in_a_video_or_within_30_days_on_a_channel(stock):
    first = make_production()
    a = gather(first)
    assert len(set(ids(a))) == len(ids(a)) == 9  # never twice in one video

    again = gather(first, revision=2)  # changes requested: the new revision draws different clips
    stock_ids = {x for x in ids(again) if x[0] != "generated"}
    assert stock_ids and not stock_ids & set(ids(a))

    b = gather(make_production(run="2"))  # the same channel, 3 days later: nothing shown before
    assert not {x for x in ids(b) if x[0] != "generated"} & (set(ids(a)) | stock_ids)
    with connect() as conn:
        conn.execute("UPDATE broll_usage SET used_at = now() - interval '31 days'")
    c = gather(make_production(run="3"))  # a month later they may come back
    assert ("pexels", "201") in ids(c)


def test_cached_file_refused_on_read(tmp_path, caplog):
    from pipelines.media.cache import MediaCache

    cache = MediaCache(tmp_path)
    blob = cache.put("k1", b"hello", ".jpg")
    assert cache.put("k2", b"hello", ".jpg") == blob and cache.blob_count() == 1  # same bytes: stored once
    blob.write_bytes(b"jello")
    with caplog.at_level(logging.WARNING):
        assert cache.get("k2") is None
    assert "does not match its hash; refused" in caplog.text


def test_local_library_needs_a_licence_and_is_credited(stock, tmp_path, configs, caplog):
    from PIL import Image

    lib = tmp_path / "library"
    lib.mkdir()
    Image.new("RGB", (1920, 1080), (200, 80, 20)).save(lib / "rocket-at-dawn.jpg")
    (lib / "rocket-at-dawn.yaml").write_text(
        "licence: CC BY 4.0\nauthor: Jane Roe\nurl: https://example.org/r\ntags: [rocket, launch]\n"
    )
    Image.new("RGB", (1920, 1080), (20, 80, 200)).save(lib / "rocket-unlicensed.jpg")
    Image.new("RGB", (800, 450), (20, 200, 80)).save(lib / "rocket-small.jpg")
    (lib / "rocket-small.yaml").write_text("licence: CC0\n")
    cfg = configs / "science_en.yaml"
    edit_yaml(cfg, {"broll.providers": ["local", "pexels"], "broll.library_dir": str(lib)})
    with caplog.at_level(logging.INFO):
        m = gather(make_production())
    assert "rocket-unlicensed.jpg has no licence" in caplog.text
    assert "rocket-small.jpg is 800x450" in caplog.text
    local = [o for o in m["options"][0] if o["source"] == "local"]
    assert (
        len(local) == 1
        and local[0]["licence"] == "CC BY 4.0"
        and local[0]["attribution"] == "Jane Roe / own library"
    )
    assert "local" not in {
        o["source"] for o in m["options"][2]
    }  # it matches the topic too, but once per video
    text = credited(m["options"][0])
    assert "B-roll: Jane Roe / own library https://example.org/r" in text


def test_config_local_needs_a_library(configs):
    cfg = configs / "science_en.yaml"
    edit_yaml(cfg, {"broll.providers": ["local"]})
    with pytest.raises(ConfigError, match="broll: .*set library_dir"):
        load_config(cfg)
    edit_yaml(cfg, {"broll.providers": ["pexels"], "broll.min_width": 100})
    with pytest.raises(ConfigError, match="broll.min_width"):
        load_config(cfg)


def test_search_terms_come_from_the_visual_cue_then_broaden():
    seg = Segment.model_validate(
        segment("Heading", "Saturn V rocket on the launch pad", "The narration talks about engines.")
    )
    assert broll.search_terms(seg, "The Apollo program") == [
        "Saturn rocket launch",
        "Saturn rocket",
        "Apollo program",
    ]
    seg.visual_cue = ""
    assert broll.search_terms(seg, "Apollo")[0] == "narration talks engines"
