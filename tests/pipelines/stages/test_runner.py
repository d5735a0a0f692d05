"""Every stage of a production, called the way the DAG's tasks call them, on real PostgreSQL, real
espeak-ng and real ffmpeg (a ~20 s video), with the outputs probed."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from pipelines import checkpoints, production, review
from pipelines.db import connect
from pipelines.files import read_json
from pipelines.media.ffmpeg import probe
from pipelines.paths import outbox_dir
from pipelines.stages import runner, shorts, start
from pipelines.stages.publish import next_slot
from tests.helpers import edit_yaml


def approve(cid: int, who: str = "tester") -> None:
    with connect() as conn:
        checkpoints.decide(conn, cid, "approved", who)
    assert runner.after_decision(cid) == ("approved", cid)


def artifacts(pid: int, stage: str) -> dict:
    with connect() as conn:
        return checkpoints.approved(conn, pid, stage).artifacts


@pytest.mark.slow
def test_a_whole_production_stage_by_stage(database, data_dir, configs):
    edit_yaml(configs / "science_en.yaml", {"style.caption_mode": "karaoke"})  # word by word on long-form too
    pid = start.run("science_en", "The Hubble Space Telescope", "manual__stages", target_seconds=20)
    assert runner.run("knowledge", pid)["new_facts"] > 0

    # script, with a change request: the stage runs again as revision 2 and says which notes it addresses
    cid = runner.run_stage("script", pid)
    with connect() as conn:
        checkpoints.decide(conn, cid, "changes_requested", "tester", "start with the launch date")
    outcome, cid2 = runner.after_decision(cid)
    with connect() as conn:
        cp2 = checkpoints.get(conn, cid2)
    assert outcome == "waiting" and cp2.revision == 2 and cp2.status == "pending"
    assert cp2.artifacts["addresses_notes"] == "start with the launch date"
    with connect() as conn:  # approve with edits: the edited sentence is what continues
        view = review.checkpoint_detail(conn, cid2)["view"]
        first_fact = next(s for seg in view["segments"] for s in seg["sentences"] if s["fact"])
        assert first_fact["fact"]["source_title"] == "Hubble Space Telescope"
        with pytest.raises(checkpoints.CheckpointError, match="not a '<segment>.<sentence>'"):
            review.decide(conn, cid2, "approved", "tester", edits={"sentences": {"9.9": "x"}})
    with connect() as conn:
        review.decide(
            conn, cid2, "approved", "editor", edits={"sentences": {"0.1": "Here is the Hubble story."}}
        )
    assert runner.after_decision(cid2) == ("approved", cid2)

    # narration: word timings inside the audio, segments back to back
    approve(runner.run_stage("audio", pid))
    with connect() as conn:
        p = production.load(conn, pid)
    audio = artifacts(pid, "audio")
    timings = read_json(p.abs(audio["timings"]))
    narration = probe(p.abs(audio["narration"]))
    assert abs(narration.duration - timings["duration"]) < 0.05 and narration.audio.sample_rate == 48000
    starts = [w["start"] for w in timings["words"]]
    assert starts == sorted(starts) and timings["words"][-1]["end"] <= timings["duration"]
    assert [w["text"] for w in timings["words"]][4:9] == ["Here", "is", "the", "Hubble", "story."]
    spans = timings["segments"]
    assert spans[0]["start"] == 0 and all(
        a["end"] <= b["start"] for a, b in zip(spans, spans[1:], strict=False)
    )

    # b-roll: one visual per script segment, each with source and licence; the reviewer swaps one
    bid = runner.run_stage("broll", pid)
    with connect() as conn:
        options = review.checkpoint_detail(conn, bid)["view"]["segments"][1]["options"]
        review.decide(conn, bid, "approved", "editor", edits={"choices": {"1": 2}})
    visuals = read_json(p.abs(artifacts(pid, "broll")["visuals"]))["visuals"]
    assert len(options) == 3 and visuals[1]["path"] == options[2]["path"]
    script = read_json(p.abs(artifacts(pid, "script")["script"]))
    assert [v["segment"] for v in visuals] == list(range(len(script["segments"])))
    assert all(v["licence"] and v["source"].startswith("generated") for v in visuals)

    # final: the rendered video, in sync with the narration, and three thumbnails; title and thumbnail edited
    fid = runner.run_stage("final", pid)
    with connect() as conn:
        proposed = review.checkpoint_detail(conn, fid)["view"]
        assert proposed["title"] == "The Hubble Space Telescope" and len(proposed["thumbnails"]) == 3
        review.decide(
            conn,
            fid,
            "approved",
            "editor",
            edits={"title": "Hubble, fact by fact", "thumbnail": 2, "description": "My own words."},
        )
    final = artifacts(pid, "final")
    video = probe(p.abs(final["video"]))
    assert (video.video.width, video.video.height, video.video.fps) == (1920, 1080, 30.0)
    assert (video.video.codec, video.audio.codec) == ("h264", "aac")
    assert abs(video.duration - timings["duration"]) < 0.1
    for t in final["thumbnails"]:
        thumb = probe(p.abs(t))
        assert (thumb.video.width, thumb.video.height) == (1280, 720)
    srt = p.abs(final["captions"]).read_text(encoding="utf-8")
    first_word = timings["words"][0]
    h, m, s = srt.splitlines()[1].split(" --> ")[0].split(":")
    assert abs(float(s.replace(",", ".")) - first_word["start"]) < 0.01  # captions start with the voice
    burned = (p.abs(final["video"]).parent / "captions.ass").read_text(encoding="utf-8")
    events = [line for line in burned.splitlines() if line.startswith("Dialogue:")]
    lit = [line for line in events if "\\1c" in line]  # one event per word, that word in the highlight
    assert len(lit) > len(srt.strip().split("\n\n")) and all(line.count("\\1c") == 2 for line in lit)

    # publish: once, into the channel's outbox, with full metadata; a retry publishes nothing twice
    receipt = runner.run("publish", pid)
    assert runner.run("publish", pid) == receipt
    item = outbox_dir("science_en") / f"{pid:05d}-longform"
    meta = read_json(item / "metadata.json")
    assert {f.name for f in item.iterdir()} == {
        "video.mp4",
        "thumbnail.jpg",
        "captions.srt",
        "metadata.json",
        "receipt.json",
    }
    assert datetime.fromisoformat(meta["publish_at"]) > datetime.now(ZoneInfo("UTC"))
    assert datetime.fromisoformat(meta["publish_at"]).strftime("%H:%M") == "17:00"
    assert meta["title"] == "Hubble, fact by fact"  # the reviewer's edits won...
    assert meta["description"].startswith(
        "My own words.\n\nHow this video was made:"
    )  # ...but not the disclosure
    assert (item / "thumbnail.jpg").read_bytes() == p.abs(final["thumbnails"][2]).read_bytes()
    assert "offline template writer" in meta["description"] and meta["contains_synthetic_media"] is True
    assert (
        "Hubble Space Telescope: https://en.wikipedia.org/wiki/Hubble_Space_Telescope"
        in proposed["description"]
    )

    # learnings: coverage recorded, so the backlog moves on; the review note is kept as a lesson
    extra = runner.run("learnings", pid)
    assert extra == {"production_id": pid, "channel": "science_en", "topic": "The Hubble Space Telescope"}
    with connect() as conn:
        covered = conn.execute(
            "SELECT topic, subtopics FROM coverage WHERE production_id = %s", (pid,)
        ).fetchone()
        assert covered["topic"] == "The Hubble Space Telescope"
        # sub-topics: the headings of the segments that state facts (not the opening or the closing)
        script = production.load(conn, pid).abs(checkpoints.approved(conn, pid, "script").artifacts["script"])
        script_json = read_json(script)
        headings = [seg["heading"] for seg in script_json["segments"]]
        assert covered["subtopics"] == headings[1:-1]
        lessons = [
            r["lesson"] for r in conn.execute("SELECT lesson FROM learnings WHERE production_id = %s", (pid,))
        ]
        assert production.load(conn, pid).status == "published"
    assert lessons == ["changes_requested at revision 1: start with the launch date"]

    # shorts: vertical, at most max_seconds, own publish slot; a second run cuts nothing twice
    made = shorts.run(pid, "science_en")
    assert shorts.run(pid, "science_en") == made
    short = probe(outbox_dir("science_en") / f"{pid:05d}-short-1" / "video.mp4")
    assert (short.video.width, short.video.height) == (1080, 1920) and short.duration <= 58
    # chosen from the body: whole sentences, neither the intro nor the closing; the choice is published
    choice = read_json(outbox_dir("science_en") / f"{pid:05d}-short-1" / "metadata.json")["choice"]
    body = [s["text"] for seg in script_json["segments"] if seg["role"] == "body" for s in seg["sentences"]]
    assert [s["text"] for s in choice["sentences"]] == body[: len(choice["sentences"])]
    assert choice["score"] > 0 and choice["reasons"] and choice["hook"]
    assert choice["hook"].split()[0].casefold() in body[0].casefold()  # the opening fact's key phrase
    assert abs(short.duration - (choice["end"] - choice["start"])) < 0.1
    with pytest.raises(ValueError, match="belongs to science_en"):
        shorts.run(pid, "historia_ptbr")

    # a published production's decisions can no longer be taken back; the audit log has every decision
    with connect() as conn:
        with pytest.raises(checkpoints.CheckpointError, match="is published"):
            review.reopen(conn, fid, "admin")
        assert [e["action"] for e in checkpoints.events(conn, cid)] == ["changes_requested"]
        state = {s["channel"]: s for s in review.channel_state(conn)}["science_en"]
    assert state["published"] == 1 and state["pending"] == 0 and state["wait_longest_s"] > 0
    assert state["facts"] > 10 and state["knowledge_reuse"] == 0.0  # the first video researched all it used


def test_publish_slots_are_in_the_channel_zone_and_never_shared():
    zone = ZoneInfo("America/Sao_Paulo")
    now = datetime(2026, 3, 1, 19, 0, tzinfo=zone)
    first = next_slot("America/Sao_Paulo", time(18, 0), set(), after=now)
    assert first == datetime(2026, 3, 2, 18, 0, tzinfo=zone)
    assert next_slot("America/Sao_Paulo", time(18, 0), {first}, after=now) == datetime(
        2026, 3, 3, 18, 0, tzinfo=zone
    )
