"""Wikimedia Commons as a b-roll provider, against a local server speaking the MediaWiki API (real httpx,
real image and WebM/Ogg downloads): free licences only, the attribution each licence asks for, the
minimum size, retries, and the b-roll stage using it (cache, repeat window, the description's credits)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipelines import production
from pipelines.artifacts import Render, StoredScript, VisualItem
from pipelines.db import connect
from pipelines.files import read_json, write_json
from pipelines.media.cache import sha256_file
from pipelines.media.ffmpeg import probe
from pipelines.media.prepare import cut_clip
from pipelines.providers.broll.base import measure
from pipelines.providers.broll.commons import Commons, names, subject_queries
from pipelines.providers.http import ProviderRejected, ProviderUnavailable
from pipelines.stages import broll
from pipelines.stages.publish import description
from tests.helpers import edit_yaml
from tests.helpers.fake_commons import FakeCommons, make_commons_media
from tests.helpers.fake_research_servers import Failure, status

PAGE = "https://commons.wikimedia.org/wiki/"
BY_SA = (
    '"Santos-Dumont 14-bis 1906" by João & Filhos, CC BY-SA 4.0 https://creativecommons.org/licenses/by-sa/4.0, '
    "via Wikimedia Commons"
)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return make_commons_media(tmp_path_factory.mktemp("commons-files"))


@pytest.fixture
def server(media):
    with FakeCommons(media) as s:
        yield s


def commons(server: FakeCommons, **kw) -> Commons:
    return Commons(base_url=server.url, backoff=0.01, **kw)


def by_id(found) -> dict:
    return {c.id: c for c in found}


def test_free_photos_come_with_the_attribution_their_licence_asks_for(server, caplog):
    with caplog.at_level(logging.INFO, logger="pipelines.providers.broll.commons"):
        found = commons(server).search("Santos-Dumont 14-bis", "image")

    # only the free, wide, landscape ones, in the search's order (the API lists them by page id)
    assert [c.id for c in found] == ["5001", "5003", "5002"]
    sa, cc0, pd = found
    assert (sa.source, sa.kind, sa.licence, sa.attribution) == ("commons", "image", "CC BY-SA 4.0", BY_SA)
    assert sa.url == PAGE + "File:Santos-Dumont_14-bis_1906.jpg"
    assert "Alberto Santos-Dumont in flight at Bagatelle" in sa.description and "<i>" not in sa.description
    # a 2400-wide original comes as Commons' 1920-wide rendition, not the original
    assert (sa.width, sa.height) == (1920, 1280) and "/thumb/" in sa.download
    data = commons(server).fetch(sa)
    path = Path(server.media["Santos-Dumont 14-bis 1906.jpg"]).parent / "got.jpg"
    path.write_bytes(data)
    assert measure(path, "image") == (1920, 1280, None)
    # public domain and CC0: credited as a courtesy, without a licence URL to follow
    assert (pd.licence, pd.attribution) == (
        "Public domain",
        '"14-bis Bagatelle 1906" by Agence Rol, Public domain, via Wikimedia Commons',
    )
    assert (pd.width, pd.download) == (1600, server.file_url("14-bis Bagatelle 1906.jpg"))  # never upscaled
    assert (cc0.licence, cc0.attribution) == (
        "CC0",
        '"Santos-Dumont 14-bis replica" by Museu TAM, CC0, via Wikimedia Commons',
    )

    # every refusal is logged with the file and why
    log = caplog.text
    assert "File:14-bis poster Santos-Dumont.jpg refused: non-free (Fair use)" in log
    assert "File:Santos-Dumont 14-bis GFDL.jpg refused: GFDL: GFDL only" in log
    assert "File:Santos-Dumont 14-bis noncommercial.jpg refused: CC BY-NC-SA 2.0: non-commercial" in log
    assert (
        "File:14-bis sketch Santos-Dumont.jpg refused: 800x533, not landscape and at least 1280 wide" in log
    )
    assert "File:Santos-Dumont portrait 14-bis.jpg refused: 1200x1800" in log

    # one API request: the File namespace, bitmaps, a 1920 rendition, a User-Agent Wikimedia accepts
    (call,) = server.api_calls()
    assert call.query["gsrsearch"] == "Santos-Dumont 14-bis filetype:bitmap"
    assert (call.query["gsrnamespace"], call.query["iiurlwidth"], call.query["prop"]) == (
        "6",
        "1920",
        "imageinfo",
    )
    assert "contact" in call.headers["user-agent"] and call.headers["user-agent"].startswith("nicheflow/")
    assert all(r.headers["user-agent"] == call.headers["user-agent"] for r in server.downloads())


def test_a_ported_licence_without_its_url_links_the_licence_itself(server):
    (c,) = commons(server).search("Saturn V rocket", "image")
    assert c.licence == "CC BY 3.0 DE"
    assert c.attribution == (
        '"Saturn V rocket launch pad" by Raketen-Fan, CC BY 3.0 DE https://creativecommons.org/licenses/by/3.0/de/, '
        "via Wikimedia Commons"
    )


def test_a_higher_min_width_refuses_what_is_narrower(server, caplog):
    with caplog.at_level(logging.INFO, logger="pipelines.providers.broll.commons"):
        found = commons(server, min_width=1920).search("Santos-Dumont 14-bis", "image")
    assert [c.id for c in found] == ["5001", "5003"]  # the 1600-wide public-domain photo is not enough
    assert "File:14-bis Bagatelle 1906.jpg refused: 1600x1000" in caplog.text


def test_clips_come_as_the_narrowest_transcode_wide_enough_and_the_renderer_reads_them(server, tmp_path):
    (webm,) = commons(server).search("Santos-Dumont 14-bis", "video")
    assert (webm.id, webm.kind, webm.width, webm.height, webm.duration) == ("5101", "video", 1280, 720, 2.0)
    assert webm.download.endswith(".720p.vp9.webm") and webm.licence == "Public domain"
    assert server.api_calls()[0].query["gsrsearch"].endswith(" filetype:video")
    (ogv,) = commons(server).search("Saturn V rocket", "video")  # no transcodes: the original
    assert ogv.download == server.file_url("Saturn V rocket launch.ogv") and ogv.width == 1280
    for c, suffix in ((webm, ".webm"), (ogv, ".ogv")):
        path = tmp_path / f"clip{suffix}"
        path.write_bytes(commons(server).fetch(c))
        assert measure(path, "video")[:2] == (1280, 720)
        info = probe(cut_clip(path, (1920, 1080), 24, 36, tmp_path / f"cut-{c.id}.avi"))
        assert (info.video.width, info.video.height) == (1920, 1080) and info.duration == pytest.approx(1.5)


def test_no_results_is_an_empty_list(server):
    assert commons(server).search("quantum zebra", "image") == []
    assert len(server.api_calls()) == 1


def test_5xx_and_429_are_retried_as_research_does(server):
    server.fail(status(503), status(502))
    assert [c.id for c in commons(server).search("Saturn V rocket", "image")] == ["5009"]
    assert [r.status for r in server.requests] == [503, 502, 200]

    server.requests.clear()
    server.fail(status(429, retry_after=0.3))
    assert commons(server).search("Saturn V rocket", "video")
    first, second = server.requests[:2]
    assert (first.status, second.status) == (429, 200) and second.at - first.at >= 0.3

    server.fail(*[status(503)] * 4)
    with pytest.raises(ProviderUnavailable, match="gave up .* after 4 attempts"):
        commons(server).search("Saturn V rocket", "image")

    # the wiki's own trouble, reported as MediaWiki does (HTTP 200 and an error object), is transient
    server.fail(
        Failure(status=200, body={"error": {"code": "internal_api_error_DBQueryError", "info": "db"}})
    )
    with pytest.raises(ProviderUnavailable, match="try again later"):
        commons(server).search("Saturn V rocket", "image")


def test_a_generic_user_agent_is_refused_with_what_to_fix(server):
    with pytest.raises(ProviderRejected, match="descriptive User-Agent") as e:
        commons(server, user_agent="python-httpx/0.28").search("Saturn V rocket", "image")
    assert e.value.status == 403 and len(server.requests) == 1  # not retried


def test_names_and_years_the_segment_mentions():
    assert names("Em 1906, Santos-Dumont voou com o 14-bis em Paris.") == [
        "1906",
        "Santos-Dumont",
        "14-bis",
        "Paris",
    ]
    assert names("Neil Armstrong walked on the Moon during Apollo 11.") == [
        "Neil Armstrong",
        "Moon",
        "Apollo 11",
    ]
    assert names("A Torre de Belém fica em Lisboa.") == ["Torre de Belém", "Lisboa"]
    assert names("Astronomers watched from the dome.") == []  # a capital that only opens a sentence
    assert names("Hubble in orbit", "The Hubble telescope") == ["Hubble"]  # ... unless it is a name elsewhere
    assert subject_queries(
        "O 14-bis sobre o campo de Bagatelle", "Em 1906, Santos-Dumont voou com o 14-bis."
    ) == [
        "14-bis Bagatelle Santos-Dumont",
        "14-bis Bagatelle",
        "14-bis",
    ]
    assert subject_queries("rocket launch", "The rocket left the pad in 1969.") == []


# -- through the b-roll stage ---------------------------------------------------------------------------


def segment(heading: str, cue: str, text: str) -> dict:
    return {
        "heading": heading,
        "visual_cue": cue,
        "on_screen_text": "",
        "sentences": [{"text": text, "fact_ids": []}],
    }


SCRIPT = {
    "title": "Santos-Dumont e o 14-bis",
    "language": "pt-BR",
    "disclosure": "Roteiro de um teste.",
    "description": "",
    "sources": [],
    "segments": [
        segment(
            "O voo",
            "O 14-bis sobre o campo de Bagatelle",
            "Em 1906, Santos-Dumont voou com o 14-bis em Paris.",
        ),
        segment(
            "Depois", "O foguete Saturn V na plataforma", "Décadas depois, foguetes levaram astronautas."
        ),
    ],
}
TIMINGS = {
    "duration": 8.0,
    "words": [],
    "segments": [{"segment": i, "start": 4.0 * i, "end": 4.0 * i + 3.8} for i in range(2)],
}


def gather(run: str) -> tuple[production.Production, dict]:
    with connect() as conn:
        p = production.create(conn, "historia_ptbr", "Pioneiros da aviação", f"test-commons-{run}")
    write_json(p.workspace / "script" / "r1" / "script.json", SCRIPT)
    write_json(p.workspace / "audio" / "r1" / "timings.json", TIMINGS)
    with connect() as conn:
        rel = broll.gather(conn, p, "script/r1/script.json", "audio/r1/timings.json", 1).visuals
    return p, read_json(p.abs(rel))


def test_the_broll_stage_uses_commons_and_credits_it_in_the_description(
    server, database, data_dir, configs, monkeypatch
):
    edit_yaml(configs / "historia_ptbr.yaml", {"broll.providers": ["commons"]})
    monkeypatch.setenv("COMMONS_BASE_URL", server.url)
    monkeypatch.setenv("NICHEFLOW_CONTACT", "ops@example.org")
    p, m = gather("1")
    # Wikimedia's User-Agent policy: the tool and the operator's contact, on every request
    assert {r.headers["user-agent"] for r in server.requests} == {
        "nicheflow/0.1 (b-roll from Wikimedia Commons; contact: ops@example.org)"
    }

    # the subject first: the 14-bis film, then its photos; Saturn V's clip and photo for the second segment
    assert [[(o["source"], o["id"], o["kind"]) for o in opts] for opts in m["options"]] == [
        [("commons", "5101", "video"), ("commons", "5001", "image"), ("commons", "5002", "image")],
        [
            ("commons", "5102", "video"),
            ("commons", "5009", "image"),
            ("generated", m["options"][1][2]["id"], "image"),
        ],
    ]
    assert server.api_calls()[0].query["gsrsearch"] == "14-bis Bagatelle Santos-Dumont filetype:video"
    sa = m["options"][0][1]
    assert sa | {"path": ""} == {
        "segment": 0,
        "kind": "image",
        "path": "",
        "source": "commons",
        "licence": "CC BY-SA 4.0",
        "attribution": BY_SA,
        "url": PAGE + "File:Santos-Dumont_14-bis_1906.jpg",
        "description": "The 14-bis of Alberto Santos-Dumont in flight at Bagatelle, 1906.",
        "width": 1920,
        "height": 1280,
        "duration": None,
        "id": "5001",
    }
    clip = m["options"][0][0]
    assert clip["path"].endswith(".webm") and (clip["width"], clip["height"], clip["duration"]) == (
        1280,
        720,
        2.0,
    )
    blob = broll.cache().get("commons-5001-image-1920x1280")  # stored once by content hash
    assert blob is not None and sha256_file(blob) == blob.stem == sha256_file(p.workspace / sa["path"])

    # the published description credits it as CC BY-SA asks: title, author, licence and its URL, the page
    script = StoredScript.model_validate(SCRIPT)
    text = description(
        script, Render(duration=8.0, chapters=[]), "espeak-ng", [VisualItem.model_validate(sa)]
    )
    assert f"B-roll: {BY_SA} {PAGE}File:Santos-Dumont_14-bis_1906.jpg" in text.splitlines()
    assert "Imagens: commons (CC BY-SA 4.0)." in text

    # the same channel's next video shows none of them again (broll.repeat_days)
    downloads = len(server.downloads())
    _, again = gather("2")
    first = {(o["source"], o["id"]) for opts in m["options"] for o in opts if o["source"] == "commons"}
    second = {(o["source"], o["id"]) for opts in again["options"] for o in opts if o["source"] == "commons"}
    assert second == {("commons", "5003")} and not first & second
    assert len(server.downloads()) == downloads + 1
