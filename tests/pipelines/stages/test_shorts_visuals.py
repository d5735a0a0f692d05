"""A Short's own visuals, against local servers speaking Pexels' and Pixabay's APIs (real httpx, real
downloads, real PostgreSQL): portrait stock searched first, the reviewer's pick and the long-form's stock
kept when there is no portrait one, generated cards drawn again at 9:16, the channel's repeat window."""

from __future__ import annotations

import pytest

from pipelines import checkpoints, production
from pipelines.artifacts import BrollOutput, Timings
from pipelines.db import connect
from pipelines.files import read_json, write_json
from pipelines.providers.broll.stock import Pexels, Pixabay
from pipelines.stages import broll
from pipelines.stages.final import scenes_for
from pipelines.stages.shorts_visuals import portrait_visuals
from tests.helpers.fake_stock_servers import FakePexels, FakePixabay, make_media
from tests.pipelines.stages.test_broll import segment

TOPIC = "Quiet gardens"  # matches nothing: what a segment finds, it finds by its own cue
SCRIPT = {
    "title": TOPIC,
    "language": "en",
    "disclosure": "Script by a test.",
    "description": "",
    "sources": [],
    "segments": [
        segment("Liftoff", "rocket launch", "The rocket left the pad at dawn."),
        segment("Engine", "rocket engine", "Its engines roared."),
        segment("Watching", "telescope dome", "Astronomers watched from the dome."),
        segment("Stripes", "zebra stripes", "Zebras have stripes.", "Why stripes?"),
        segment("Moonrise", "moon sea", "The moon rose over the sea."),
    ],
}


def timings(n: int) -> dict:
    return {
        "duration": 4.0 * n,
        "words": [],
        "segments": [{"segment": i, "start": 4.0 * i, "end": 4.0 * i + 3.8} for i in range(n)],
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


def approved_longform(script: dict, run: str, swaps: dict[int, int] | None = None) -> production.Production:
    """A production whose script, narration and b-roll (gathered from the fake servers) are approved."""
    n = len(script["segments"])
    with connect() as conn:
        p = production.create(conn, "science_en", TOPIC, f"test-shorts-visuals-{run}")
        write_json(p.workspace / "script" / "r1" / "script.json", script)
        write_json(p.workspace / "audio" / "r1" / "timings.json", timings(n))
        timings_rel = "audio/r1/timings.json"
        visuals = broll.gather(conn, p, "script/r1/script.json", timings_rel, 1).visuals
        if swaps:
            visuals = broll.choose(p, visuals, swaps)
        audio = {"narration": "audio/r1/n.wav", "duration": 4.0 * n, "voice": "t", "timings": timings_rel}
        for stage, artifacts in (
            ("script", {"script": "script/r1/script.json"}),
            ("audio", audio),
            ("broll", {"visuals": visuals}),
        ):
            cp = checkpoints.open_checkpoint(conn, p.id, p.channel, stage, 1, artifacts)
            checkpoints.decide(conn, cp.id, "approved", "tester")
    return p


def test_a_short_gets_portrait_stock_first_then_the_long_forms_visual_made_for_9_16(stock):
    from PIL import Image

    pexels, pixabay = stock
    p = approved_longform(SCRIPT, "1", swaps={0: 1})
    longform = read_json(p.workspace / "broll" / "r1" / "visuals.chosen.json")["visuals"]
    before = len(pexels.searches()), len(pixabay.searches())

    with connect() as conn:
        m = portrait_visuals(conn, p)

    got = [(v.segment, v.source, v.id, v.kind) for v in m.visuals]
    assert got[0] == (0, "pexels", "101", "image")  # the reviewer swapped to this one: it stands
    assert got[1] == (1, "pexels", "203", "video")  # portrait stock: Pexels' vertical rocket clip
    assert got[2] == (2, "pixabay", "4002", "video")  # nothing portrait on Pexels: Pixabay's
    assert got[3][1:] == ("generated", got[3][2], "image")  # a generated card, drawn again at 9:16
    assert m.visuals[4].path == longform[4]["path"]  # no portrait moon: the long-form's, reframed at render
    for v in m.visuals[1:4]:
        assert v.height > v.width and v.height >= 1280 and (p.workspace / v.path).is_file()
    with Image.open(p.workspace / m.visuals[3].path) as card:
        assert card.size == (1080, 1920)
    assert "Why stripes?" in m.visuals[3].description and m.visuals[3].licence.startswith("CC0")

    # the portrait searches asked each service for that orientation, at the channel's size on the long side
    portrait_pexels = pexels.searches()[before[0] :]
    portrait_pixabay = pixabay.searches()[before[1] :]
    assert portrait_pexels and all(r.query["orientation"] == "portrait" for r in portrait_pexels)
    assert portrait_pixabay and all(
        r.query["orientation"] == "vertical"
        and r.query["min_height"] == "1280"
        and "min_width" not in r.query
        for r in portrait_pixabay
    )
    assert all(r.query["orientation"] == "landscape" for r in pexels.searches()[: before[0]])
    # the reviewer's pick (segment 0) was not searched for
    assert "rocket launch" not in {r.query["query"] for r in portrait_pexels}

    # the scenes the Short renders: one per segment, the portrait files
    scenes = scenes_for(p, Timings.model_validate(timings(5)), m)
    assert [s.media for s in scenes] == [p.workspace / v.path for v in m.visuals]

    # what the Shorts used is on the channel's record: later videos skip it
    with connect() as conn:
        used = {
            (r["provider"], r["clip_id"])
            for r in conn.execute("SELECT provider, clip_id FROM broll_usage WHERE revision = 0")
        }
        assert {("pexels", "203"), ("pixabay", "4002"), ("generated", m.visuals[3].id)} == used

        # a retried Shorts task: the same visuals, nothing searched or downloaded again
        requests = len(pexels.requests) + len(pixabay.requests)
        assert portrait_visuals(conn, p) == m
        assert len(pexels.requests) + len(pixabay.requests) == requests


def test_the_repeat_window_holds_for_shorts_and_only_asked_segments_are_made(stock):
    script = {**SCRIPT, "segments": SCRIPT["segments"][1:3]}  # engine, telescope
    first = approved_longform(script, "1")
    with connect() as conn:
        a = portrait_visuals(conn, first)
    assert [(v.source, v.id) for v in a.visuals] == [("pexels", "203"), ("pixabay", "4002")]

    second = approved_longform(script, "2")  # the same channel, days later: other portrait files
    with connect() as conn:
        only_first = portrait_visuals(conn, second, segments=[0])
        assert (only_first.visuals[0].source, only_first.visuals[0].id) == ("pexels", "105")
        longform = BrollOutput.approved(conn, second.id).load_visuals(second)
        assert only_first.visuals[1] == longform.visuals[1]  # not asked for: the long-form's, untouched
        both = portrait_visuals(conn, second)
    assert [(v.source, v.id) for v in both.visuals] == [("pexels", "105"), ("pixabay", "3005")]


@pytest.mark.parametrize("cls", [Pexels, Pixabay])
def test_stock_searches_by_orientation_and_keeps_only_that_shape(stock, cls):
    pexels, pixabay = stock
    server = pexels if cls is Pexels else pixabay
    client = cls(server.valid_key, base_url=server.url)
    for kind in ("image", "video"):
        wide = client.search("rocket telescope", kind)  # the long-form's default
        tall = client.search("rocket telescope", kind, orientation="portrait")
        assert wide and all(c.width > c.height and c.width >= 1280 for c in wide)
        assert tall and all(c.height > c.width and c.height >= 1280 for c in tall)
        assert not {c.id for c in wide} & {c.id for c in tall}
    asked = [r.query["orientation"] for r in server.searches()]
    assert asked == (["landscape", "portrait"] * 2 if cls is Pexels else ["horizontal", "vertical"] * 2)
    with pytest.raises(ValueError, match="orientation 'square'"):
        client.search("rocket", "image", orientation="square")
