"""The review domain on real PostgreSQL: views, approve-with-edits (and final edits YouTube would refuse),
reopen, stalled productions, reminders and the channels' operating state."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pipelines import checkpoints, production, review
from pipelines.artifacts import Render, StoredScript, Timings, VisualsManifest
from pipelines.db import connect
from pipelines.stages import runner, start
from pipelines.stages.audio import audio_flags
from tests.pipelines.test_artifacts import AUDIO_ROW, FINAL_ROW, RENDER_JSON, SCRIPT_JSON, VISUALS_JSON

# under 5000 characters, over 5000 bytes in UTF-8
PORTUGUESE = "Ação e emoção: a expedição às ilhas não terminou, então começou a tradição. " * 64


@pytest.fixture
def script_checkpoint(database, data_dir, configs):
    pid = start.run("science_en", "The Voyager probes", "manual__r1", target_seconds=30)
    runner.run("knowledge", pid)
    return runner.run_stage("script", pid)


def final_checkpoint_with(artifacts: dict) -> int:
    """A Portuguese production waiting at its final checkpoint (with `artifacts`), its script, narration and
    visuals approved: the files in today's shapes, no render needed."""
    pid = start.run("historia_ptbr", "A Independência do Brasil", "manual__final", target_seconds=30)
    with connect() as conn:
        p = production.load(conn, pid)
        script = {**SCRIPT_JSON, "language": "pt-BR", "topic": p.topic, "title": p.topic}
        StoredScript.model_validate(script).save(p.abs("script/r1/script.json"))
        VisualsManifest.model_validate(VISUALS_JSON).save(p.abs("broll/r1/visuals.json"))
        Render.model_validate(RENDER_JSON).save(p.abs(FINAL_ROW["render"]))
        approved = {
            "script": {
                "script": "script/r1/script.json",
                "writer": "test",
                "fact_ids": [],
                "grounding_flags": 0,
            },
            "audio": AUDIO_ROW,
            "broll": {"visuals": "broll/r1/visuals.json"},
        }
        for stage, row in approved.items():
            cp = checkpoints.open_checkpoint(conn, pid, p.channel, stage, 1, row)
            checkpoints.decide(conn, cp.id, "approved", "tester")
        return checkpoints.open_checkpoint(conn, pid, p.channel, "final", 1, artifacts).id


@pytest.fixture
def final_checkpoint(database, data_dir, configs):
    return final_checkpoint_with(FINAL_ROW)


def test_final_edits_youtube_would_refuse_are_refused_and_nothing_is_lost(final_checkpoint):
    def refusal(edits: dict) -> str:
        with connect() as conn, pytest.raises(checkpoints.CheckpointError) as e:
            review.decide(conn, final_checkpoint, "approved", "ana", edits=edits)
        return str(e.value)

    with connect() as conn:
        before = checkpoints.get(conn, final_checkpoint)
        view = review.checkpoint_detail(conn, final_checkpoint)["view"]
    assert view["problems"] == {}
    disclosure = view["description"][view["description"].index("Como este vídeo foi feito:") :]
    kept = f"{PORTUGUESE[:4400]}\n\n{disclosure}"  # under 5000 characters: the bytes count
    size = len(kept.encode("utf-8"))
    assert len(kept) < 5000 < size and refusal({"description": kept}) == (
        f"edits.description: {size:,} bytes in UTF-8; YouTube allows 5,000 — cut about {size - 5000:,} bytes "
        "(accented letters take 2)"
    )
    dropped = PORTUGUESE[:4300]  # fits by itself, not with the disclosure the publish stage adds back
    assert len(dropped.encode("utf-8")) < 5000 and "with the how-made disclosure added back" in refusal(
        {"description": dropped}
    )
    tags = [f"tag number {i:02d}" for i in range(35)]  # 35 * (13 + 2 quotes) + 34 commas
    assert refusal({"tags": tags}).startswith("edits.tags: 559 characters as YouTube counts them")
    assert refusal({"title": "Independência <3"}) == "edits.title: remove < and > (YouTube refuses them)"
    every = refusal({"title": "x" * 101, "description": kept, "tags": tags, "thumbnail": 1}).splitlines()
    assert [line.split(":")[0] for line in every] == ["edits.title", "edits.description", "edits.tags"]
    with connect() as conn:  # nothing was decided and nothing changed: the reviewer can fix and approve
        after = checkpoints.get(conn, final_checkpoint)
        assert (after.status, after.artifacts, after.edits) == ("pending", before.artifacts, None)
        assert checkpoints.events(conn, final_checkpoint) == []
        review.decide(conn, final_checkpoint, "approved", "ana", edits={"description": PORTUGUESE[:2000]})
        overrides = checkpoints.get(conn, final_checkpoint).artifacts["overrides"]
    assert overrides == {"description": PORTUGUESE[:2000]}


def test_final_view_shows_what_youtube_would_refuse(database, data_dir, configs):
    legacy = {"title": "x" * 120, "description": "Mine > yours", "tags": ["<b>"]}  # stored before the checks
    cid = final_checkpoint_with({**FINAL_ROW, "overrides": legacy})
    with connect() as conn:
        problems = review.checkpoint_detail(conn, cid)["view"]["problems"]
    assert problems == {
        "title": "120 characters; YouTube allows 100 — shorten it by 20",
        "description": "remove < and > (YouTube refuses them)",
        "tags": "remove < and > from '<b>' (YouTube refuses them)",
    }


def test_a_checkpoint_whose_files_are_gone_says_which_one(database, data_dir, configs):
    cid = final_checkpoint_with(FINAL_ROW)  # its approved audio row names timings no one wrote
    with connect() as conn:
        audio = conn.execute(
            "SELECT id FROM checkpoints WHERE stage = 'audio' AND production_id = "
            "(SELECT production_id FROM checkpoints WHERE id = %s)",
            (cid,),
        ).fetchone()["id"]
        with pytest.raises(checkpoints.CheckpointNotFound) as e:
            review.checkpoint_detail(conn, audio)
    assert f"checkpoint {audio} (audio r1) cannot be shown: its file 'audio/r1/timings.json' is gone" in str(
        e.value
    )


def test_listing_filters_and_detail(script_checkpoint):
    with connect() as conn:
        rows = review.list_checkpoints(conn, channel="science_en", stage="script")
        assert [r["id"] for r in rows] == [script_checkpoint] and rows[0]["waiting_seconds"] >= 0
        assert review.list_checkpoints(conn, channel="historia_ptbr") == []
        assert review.list_checkpoints(conn, stage="audio") == []
        detail = review.checkpoint_detail(conn, script_checkpoint)
    assert detail["production"]["topic"] == "The Voyager probes"
    assert [r["revision"] for r in detail["revisions"]] == [1]
    cited = [s for seg in detail["view"]["segments"] for s in seg["sentences"] if s["fact_ids"]]
    assert cited and all(s["fact"]["claim"] == s["text"] and s["fact"]["source_url"] for s in cited)


def test_concurrent_approvals_with_edits_make_one_decision(script_checkpoint):
    results = []

    def approve(i: int):
        try:
            with connect() as conn:
                review.decide(
                    conn, script_checkpoint, "approved", f"r{i}", edits={"sentences": {"0.1": f"Take {i}."}}
                )
            results.append(i)
        except checkpoints.AlreadyDecided:
            results.append(None)

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    with connect() as conn:
        cp = checkpoints.get(conn, script_checkpoint)
        view = review.checkpoint_detail(conn, script_checkpoint)["view"]
        events = checkpoints.events(conn, script_checkpoint)
    assert cp.reviewer == f"r{winners[0]}" and cp.edits == {"sentences": {"0.1": f"Take {winners[0]}."}}
    assert view["segments"][0]["sentences"][1] == {
        **view["segments"][0]["sentences"][1],
        "text": f"Take {winners[0]}.",
        "edited": True,
    }
    assert [e["action"] for e in events] == ["approved"]


def test_edit_rules(script_checkpoint):
    with connect() as conn, pytest.raises(checkpoints.CheckpointError, match="edits go with an approval"):
        review.decide(conn, script_checkpoint, "rejected", "ana", "no", edits={"sentences": {"0.0": "x"}})
    with connect() as conn, pytest.raises(checkpoints.CheckpointError, match="empty text"):
        review.decide(conn, script_checkpoint, "approved", "ana", edits={"sentences": {"0.0": "  "}})
    with (  # a stage takes the edits its registry entry names, no others
        connect() as conn,
        pytest.raises(
            checkpoints.CheckpointError,
            match=r"unknown fields \['title'\]; the script checkpoint takes sentences",
        ),
    ):
        review.decide(conn, script_checkpoint, "approved", "ana", edits={"title": "Another title"})
    with connect() as conn:  # nothing was decided by the refused attempts
        assert checkpoints.get(conn, script_checkpoint).status == "pending"


def test_reopen_takes_a_decision_back_and_restores_the_original(script_checkpoint):
    with connect() as conn:
        original = checkpoints.get(conn, script_checkpoint).artifacts["script"]
        review.decide(conn, script_checkpoint, "approved", "ana", edits={"sentences": {"0.1": "Edited."}})
        assert checkpoints.get(conn, script_checkpoint).artifacts["script"] != original
    with connect() as conn:
        cp = review.reopen(conn, script_checkpoint, "admin")
        assert (cp.status, cp.reviewer, cp.edits, cp.artifacts["script"]) == ("pending", None, None, original)
        assert [e["action"] for e in checkpoints.events(conn, script_checkpoint)] == ["approved", "reopened"]
        with pytest.raises(checkpoints.AlreadyDecided, match="already pending"):
            review.reopen(conn, script_checkpoint, "admin")


def test_media_file_stays_inside_the_workspace(script_checkpoint):
    with connect() as conn:
        cp = checkpoints.get(conn, script_checkpoint)
        assert review.media_file(conn, cp.production_id, cp.artifacts["script"]).name == "script.json"
        with pytest.raises(checkpoints.CheckpointError, match="outside"):
            review.media_file(conn, cp.production_id, "../../../../etc/passwd")
        with pytest.raises(checkpoints.CheckpointNotFound):
            review.media_file(conn, cp.production_id, "script/r9/none.json")


def test_media_file_refuses_every_way_out_of_the_workspace(database, data_dir, configs, tmp_path):
    """A production's media route serves its own files only: `..`, absolute paths, a symlink planted in the
    workspace (to a file or a folder outside it) and a workspace folder that is itself a symlink out are
    refused; a symlink to another file of the same workspace still works."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the production's")
    pid = start.run("science_en", "The Voyager probes", "manual__media", target_seconds=30)
    with connect() as conn:
        p = production.load(conn, pid)
        own = p.abs("script/r1/notes.txt")
        own.parent.mkdir(parents=True, exist_ok=True)
        own.write_text("the production's own file")
        (p.workspace / "script/r1/alias.txt").symlink_to(own)
        (p.workspace / "script/r1/planted.txt").symlink_to(outside / "secret.txt")
        (p.workspace / "planted_dir").symlink_to(outside, target_is_directory=True)
        assert review.media_file(conn, pid, "script/r1/notes.txt").read_text() == "the production's own file"
        assert review.media_file(conn, pid, "script/r1/alias.txt").read_text() == "the production's own file"
        for escape in (
            "script/r1/planted.txt",
            "planted_dir/secret.txt",
            "../../../../etc/passwd",
            "script/../../00002-other/script/r1/script.json",
            str(outside / "secret.txt"),
            "/etc/passwd",
        ):
            with pytest.raises(checkpoints.CheckpointError, match="outside"):
                review.media_file(conn, pid, escape)

        # the workspace folder itself replaced by a symlink out of the data folder
        moved = tmp_path / "moved"
        p.workspace.rename(moved)
        p.workspace.symlink_to(outside, target_is_directory=True)
        with pytest.raises(checkpoints.CheckpointError, match="leaves the storage folder"):
            review.media_file(conn, pid, "secret.txt")


def test_trigger_marks_stalled_counts_reminders_and_decision_resumes(script_checkpoint):
    import sys

    from pipelines.paths import REPO

    sys.path.insert(0, str(REPO / "plugins"))
    from nicheflow_airflow.triggers import CheckpointTrigger

    trigger = CheckpointTrigger(
        script_checkpoint, poll_seconds=0.2, timeout_seconds=0.5, reminder_seconds=0.3
    )

    async def wait_for_event():
        gen = trigger.run()
        return await asyncio.wait_for(gen.__anext__(), timeout=30)

    def decide_later():
        import time

        time.sleep(1.5)
        with connect() as conn:
            state = review.list_checkpoints(conn)[0]
            assert state["stalled"] and state["reminders"] >= 2
            assert {s["channel"]: s for s in review.channel_state(conn)}["science_en"]["stalled"] == 1
            review.decide(conn, script_checkpoint, "approved", "late reviewer")

    t = threading.Thread(target=decide_later)
    t.start()
    event = asyncio.run(wait_for_event())
    t.join()
    assert event.payload == {"checkpoint_id": script_checkpoint, "status": "approved"}
    with connect() as conn:
        status = conn.execute(
            "SELECT p.status FROM productions p JOIN checkpoints c ON c.production_id = p.id WHERE c.id = %s",
            (script_checkpoint,),
        ).fetchone()["status"]
    assert status == "running"  # deciding a stalled checkpoint resumes the production


def test_audio_flags():
    timings = Timings(
        duration=20.0,
        segments=[{"segment": 0, "start": 0, "end": 10}, {"segment": 1, "start": 10, "end": 20}],
        words=[{"text": "word", "start": 0.4 * i, "end": 0.4 * i + 0.3, "segment": 0} for i in range(25)],
    )
    flags = audio_flags(timings, target_seconds=60)
    assert "segment 2: no speech detected" in flags  # numbered from 1, as on the page
    assert any("more than 25% off the 60 s target" in f for f in flags)
    assert not any(f.startswith("segment 1") for f in flags)


def test_offline_providers_understand_plain_notes(script_checkpoint):
    from pipelines import notes

    assert notes.read("Please make it SHORTER and slower") == notes.Adjustments(
        0.75, 0.85, ("shorter", "slower")
    )
    assert notes.read("mais curto, por favor").length == 0.75 and notes.read("nice").understood == ()
    with connect() as conn:
        checkpoints.decide(conn, script_checkpoint, "changes_requested", "ana", "shorter, please")
    _, rev2 = runner.after_decision(script_checkpoint)
    with connect() as conn:
        one, two = (review.checkpoint_detail(conn, c)["view"]["segments"] for c in (script_checkpoint, rev2))
        assert checkpoints.get(conn, rev2).artifacts["notes_understood"] == ["shorter"]
    words = [sum(len(s["text"].split()) for seg in v for s in seg["sentences"]) for v in (one, two)]
    assert words[1] < words[0]  # revision 2 really is shorter; revision 1 stays viewable


def test_offline_writer_follows_what_to_open_with_and_what_to_leave_out(script_checkpoint):
    def factual(cid):
        with connect() as conn:
            segs = review.checkpoint_detail(conn, cid)["view"]["segments"]
        return [s["text"] for seg in segs for s in seg["sentences"] if s["fact_ids"]]

    before = factual(script_checkpoint)
    assert "Golden Record" not in before[0] and any("twin" in t for t in before)
    notes = "Start with the Golden Record. Drop the part about the twin"
    with connect() as conn:
        checkpoints.decide(conn, script_checkpoint, "changes_requested", "ana", notes)
    _, rev2 = runner.after_decision(script_checkpoint)
    after = factual(rev2)
    assert "Golden Record" in after[0]
    assert not any("twin" in t for t in after)
    with connect() as conn:
        assert checkpoints.get(conn, rev2).artifacts["notes_understood"] == [
            "Start with the Golden Record",
            "Drop the part about the twin",
        ]
