"""What the stages record of their spend (pipelines.costs): the script's Groq tokens and cost from its usage,
replaced by a rerun of the revision and kept for an attempt that failed validation; the offline writer and
voice as free, with the characters spoken; the final render's CPU-seconds from real ffmpeg."""

from __future__ import annotations

import json

import pytest

from knowledge import store
from pipelines import checkpoints, costs, production
from pipelines.artifacts import (
    AudioOutput,
    BrollOutput,
    Segment,
    Sentence,
    Span,
    StoredScript,
    Timings,
    VisualItem,
    VisualsManifest,
    Word,
)
from pipelines.db import connect
from pipelines.media.ffmpeg import audio_duration
from pipelines.providers.broll.generated import GeneratedVisuals
from pipelines.providers.tts.espeak import EspeakTTS
from pipelines.providers.writer.groq import LLMOutputError
from pipelines.stages import audio, final, runner, script, start
from pipelines.stages.shorts_visuals import portrait_visuals
from tests.helpers import edit_yaml
from tests.helpers.fake_groq import FakeGroq
from tests.pipelines.stages.test_script import groq_script, use_groq
from tests.pipelines.stages.test_shorts_visuals import SCRIPT, approved_longform, media, stock  # noqa: F401


def summary(pid: int) -> costs.CostSummary:
    with connect() as conn:
        return costs.of_production(conn, pid)


def test_groqs_tokens_and_cost_are_recorded_per_revision(database, data_dir, configs, monkeypatch):
    use_groq(configs)
    pid = start.run("science_en", "The Hubble Space Telescope", "run1")
    runner.run("knowledge", pid)
    with connect() as conn:
        facts = store.search_facts(conn, "science_en", "english", "Hubble Space Telescope launched")
        text, words = groq_script(facts)
        conn.execute(
            "UPDATE productions SET target_seconds = %s WHERE id = %s",
            (max(20, round(words * 60 / 165)), pid),
        )
    monkeypatch.setenv("GROQ_API_KEY", "gsk_test_key")
    with FakeGroq() as fake:
        monkeypatch.setenv("GROQ_BASE_URL", fake.url)
        fake.add_completion(json.dumps(text), prompt_tokens=1500, completion_tokens=300)
        runner.run_stage("script", pid)
        fake.add_completion(json.dumps(text), prompt_tokens=1600, completion_tokens=300)
        with connect() as conn:  # the same revision written again (a task run again): its figure is replaced
            p = production.load(conn, pid)
            usage = script.write_script(conn, p, 1, None).usage
        fake.add_completion("not a script", prompt_tokens=1000, completion_tokens=50)
        fake.add_completion("still not a script", prompt_tokens=1100, completion_tokens=60)
        with connect() as conn, pytest.raises(LLMOutputError):
            script.write_script(conn, production.load(conn, pid), 2, "shorter")
    s = summary(pid)
    by_key = {x.key: x for x in s.lines}
    assert sorted(by_key) == ["script:r1:llm", "script:r2:llm:failed:1"]
    r1 = by_key["script:r1:llm"]
    assert (r1.provider, r1.quantity, r1.unit) == ("groq", 1900, "tokens")
    assert usage and r1.cost_usd == pytest.approx(usage["cost_usd"]) and r1.cost_usd > 0
    assert r1.detail["prompt_tokens"] == 1600 and r1.detail["model"] == "llama-3.3-70b-versatile"
    failed = by_key["script:r2:llm:failed:1"]  # both calls of the failed attempt were paid for
    assert failed.quantity == 1000 + 50 + 1100 + 60 and failed.detail["calls"] == 2 and failed.cost_usd
    assert s.total_usd == pytest.approx(r1.cost_usd + failed.cost_usd)


def test_the_offline_writer_and_voice_are_free_and_say_what_they_did(database, data_dir, configs):
    edit_yaml(configs / "science_en.yaml", {"voice.provider": "espeak", "voice.name": None})
    pid = start.run("science_en", "The Hubble Space Telescope", "run1", target_seconds=20)
    runner.run("knowledge", pid)
    cid = runner.run_stage("script", pid)
    with connect() as conn:
        p = production.load(conn, pid)
        script_rel = checkpoints.get(conn, cid).artifacts["script"]
    audio.narrate(p, script_rel, 1)
    stored = StoredScript.load(p.abs(script_rel))
    s = summary(pid)
    by_key = {x.key: x for x in s.lines}
    assert by_key["script:r1:llm"].provider == "offline" and by_key["script:r1:llm"].label == "free/offline"
    tts = by_key["audio:r1:tts"]
    assert (tts.provider, tts.unit, tts.label) == ("espeak", "characters", "free/offline")
    assert tts.quantity == sum(len(seg.text) for seg in stored.segments)
    assert s.total_usd == 0 and not s.unpriced


def test_the_final_render_records_its_cpu_seconds(database, data_dir, configs, tmp_path):
    pid = start.run("science_en", "The Hubble Space Telescope", "run1")
    with connect() as conn:
        p = production.load(conn, pid)
    folder = p.stage_dir("audio", 1)
    narration = folder / "narration.wav"
    said = EspeakTTS("en-us", rate_wpm=165).synthesize("Hubble was launched in 1990.", narration)
    duration = audio_duration(narration)
    timings = Timings(
        duration=duration,
        words=[Word(text=w.text, start=w.start, end=w.end, segment=0) for w in said],
        segments=[Span(segment=0, start=0.0, end=duration)],
    ).save(folder / "timings.json")
    stored = StoredScript(
        title="Hubble",
        segments=[Segment(heading="Launch", sentences=[Sentence(text="Hubble was launched.")])],
    ).save(p.stage_dir("script", 1) / "script.json")
    still = GeneratedVisuals().make(
        "Hubble", "launched", p.stage_dir("broll", 1) / "s.png", size=(640, 360), seed=1
    )
    visuals = VisualsManifest(
        visuals=[VisualItem(segment=0, path=p.rel(still.path), source="generated", licence="generated")]
    ).save(p.stage_dir("broll", 1) / "visuals.json")
    out = AudioOutput(narration=p.rel(narration), duration=duration, voice="espeak", timings=p.rel(timings))
    final.assemble(p, p.rel(stored), out, BrollOutput(visuals=p.rel(visuals)), 1)
    line = next(x for x in summary(pid).lines if x.key == "final:r1:render")
    assert line.provider == "ffmpeg" and line.unit == "cpu_seconds" and line.quantity > 0
    assert line.detail["video_seconds"] == pytest.approx(duration, abs=0.1)
    assert summary(pid).render_cpu_seconds == line.quantity


def test_the_stock_calls_of_the_broll_and_the_shorts_are_counted(request):
    pexels, pixabay = request.getfixturevalue("stock")  # the fake Pexels and Pixabay of test_shorts_visuals
    p = approved_longform(SCRIPT, "costs")
    with connect() as conn:
        portrait_visuals(conn, p)
    lines = {x.key: x for x in summary(p.id).lines}
    sent = len(pexels.searches()) + len(pixabay.searches())
    counted = [lines[k].quantity for k in lines if k.startswith(("broll:r1:stock:pex", "broll:r1:stock:pix"))]
    counted += [lines[k].quantity for k in ("shorts:stock:pexels", "shorts:stock:pixabay") if k in lines]
    assert (
        lines["broll:r1:stock:pexels"].unit == "calls"
        and lines["broll:r1:stock:pexels"].label == "free/offline"
    )
    assert sum(counted) == sent > 0  # every search the servers answered, none the search cache answered
    assert summary(p.id).stock_calls == sent
    assert lines["broll:r1:stock:generated"].unit == "visuals"
