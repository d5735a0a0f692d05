"""Faults where the b-roll stage chooses its providers (the stage owns the choice and the fallback, so this is
the level to test them at; the fault suite on the real stack is tests/e2e/test_faults_e2e.py): a stock or
Commons server that stops answering, and corrupt or truncated files in the channel's own library. Real
httpx against local servers that hang, real files, real PostgreSQL.

What must hold afterwards: the stage completes within a bounded time with a visual for every segment, from
the next provider or generated; a bad library file is skipped with a warning naming it, and every visual
the stage chose decodes whole (the render can use it)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from pipelines.providers.broll.commons import Commons
from pipelines.providers.broll.stock import _Stock
from tests.helpers import edit_yaml
from tests.helpers.fake_commons import FakeCommons, make_commons_media
from tests.helpers.fake_research_servers import timeout
from tests.pipelines.stages.test_broll import gather, make_production, media, stock  # noqa: F401

CLIENT_TIMEOUT = 1.0  # the providers' read timeout here (15 s in production): the same code path, faster
ATTEMPTS = 4  # the providers' max_attempts (a timeout is retried, then the provider is dropped)


@pytest.fixture
def short_timeouts(monkeypatch):
    """Every b-roll HTTP provider times out after CLIENT_TIMEOUT instead of 15 s."""
    for cls in (_Stock, Commons):
        monkeypatch.setitem(cls.__init__.__kwdefaults__, "timeout", CLIENT_TIMEOUT)
        monkeypatch.setitem(cls.__init__.__kwdefaults__, "backoff", 0.01)


def sources(manifest: dict) -> list[set[str]]:
    return [{o["source"] for o in opts} for opts in manifest["options"]]


def test_a_stock_provider_that_stops_answering_gives_way_to_the_next(stock, short_timeouts, caplog):  # noqa: F811
    pexels, pixabay = stock
    pexels.fail(*[timeout(CLIENT_TIMEOUT + 1.5)] * ATTEMPTS)  # every attempt outlasts the client's timeout
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        m = gather(make_production())
    took = time.monotonic() - started
    # Pexels was tried (and retried) once, then left out; Pixabay answered every segment it has media for
    assert len(pexels.searches()) == ATTEMPTS
    assert "pexels failed and is not asked again in this stage" in caplog.text
    assert pixabay.searches() and m["options"][0][0]["source"] == "pixabay"
    assert all(opts for opts in m["options"]) and "pexels" not in set().union(*sources(m))
    # bounded: the retries' timeouts and a margin for the rest of the stage, not a timeout per segment
    assert took < ATTEMPTS * (CLIENT_TIMEOUT + 0.5) + 30, took


@pytest.mark.slow  # the generated visuals for every segment
def test_commons_timing_out_falls_back_to_generated_visuals(  # noqa: F811
    tmp_path, database, data_dir, configs, monkeypatch, short_timeouts, caplog
):
    edit_yaml(configs / "science_en.yaml", {"broll.providers": ["commons"]})
    monkeypatch.setenv("NICHEFLOW_CONTACT", "ops@example.org")
    with FakeCommons(make_commons_media(tmp_path / "commons")) as commons:
        monkeypatch.setenv("COMMONS_BASE_URL", commons.url)
        commons.fail(*[timeout(CLIENT_TIMEOUT + 1.5)] * ATTEMPTS)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING):
            m = gather(make_production())
        took = time.monotonic() - started
        assert len(commons.requests) == ATTEMPTS  # not asked again for the other segments
    assert "commons failed and is not asked again in this stage" in caplog.text
    assert all(s == {"generated"} for s in sources(m)) and all(opts for opts in m["options"])
    assert took < ATTEMPTS * (CLIENT_TIMEOUT + 0.5) + 30, took


def _decodes(path: Path, kind: str) -> bool:
    from PIL import Image

    from pipelines.media.ffmpeg import run_ffmpeg

    if kind == "image":
        with Image.open(path) as im:
            im.load()  # the whole image, not only its header
        return True
    run_ffmpeg(["-v", "error", "-xerror", "-i", path, "-f", "null", "-"], what=f"decoding {path.name}")
    return True


def test_corrupt_and_truncated_library_files_are_skipped_with_a_warning(
    stock,  # noqa: F811
    tmp_path,
    configs,
    caplog,
):
    from PIL import Image

    from tests.helpers.fake_stock_servers import make_media

    lib = tmp_path / "library"
    lib.mkdir()
    licence = "licence: CC0\ntags: [rocket, launch, telescope, dome]\n"
    whole = lib / "rocket-whole.jpg"
    Image.effect_noise((1920, 1080), 60).convert("RGB").save(whole, quality=95)
    data = whole.read_bytes()
    (lib / "rocket-truncated.jpg").write_bytes(data[: len(data) // 3])  # a copy cut short
    (lib / "rocket-garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40)  # a JPEG in name
    clip = next(p for p in make_media(tmp_path / "clips").values() if p.suffix == ".mp4")
    raw = clip.read_bytes()
    (lib / "rocket-clip-truncated.mp4").write_bytes(raw[: len(raw) // 2])
    (lib / "rocket-empty.mp4").write_bytes(b"")
    for f in lib.iterdir():
        f.with_suffix(".yaml").write_text(licence)
    edit_yaml(configs / "science_en.yaml", {"broll.providers": ["local"], "broll.library_dir": str(lib)})

    p = make_production()
    with caplog.at_level(logging.WARNING):
        m = gather(p)

    bad = ["rocket-truncated.jpg", "rocket-garbage.jpg", "rocket-clip-truncated.mp4", "rocket-empty.mp4"]
    for name in bad:
        assert f"b-roll library: {name}" in caplog.text, (name, caplog.text)
    offered = {Path(o["path"]).name for opts in m["options"] for o in opts if o["source"] == "local"}
    chosen = [v for opts in m["options"] for v in opts]
    assert offered and not offered & set(bad)  # the whole photo is used, no broken file is
    assert all(opts for opts in m["options"])  # every segment has a visual (the rest generated)
    for v in chosen:
        assert _decodes(p.abs(v["path"]), v["kind"]), v
