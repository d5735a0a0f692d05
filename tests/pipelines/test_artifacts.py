"""The typed artifacts: files and checkpoint rows in the shapes written before the records existed load
through them unchanged, and come out again with exactly the same keys and values; what the stages build
has today's shapes; unknown keys survive a load and save."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.artifacts import (
    AudioOutput,
    BrollOutput,
    FinalEdits,
    FinalOutput,
    Listing,
    QAReport,
    Render,
    ScriptOutput,
    StageOutput,
    StoredScript,
    Timings,
    VisualItem,
    VisualsManifest,
)
from pipelines.checkpoints import Checkpoint, CheckpointError
from pipelines.production import Production
from pipelines.stages import broll, final, script
from pipelines.stages.audio import audio_flags
from pipelines.stages.broll import segment_seconds
from pipelines.stages.final import chapters, scenes_for, words_of
from pipelines.stages.publish import description
from pipelines.stages.shorts import choose

# --- hand-written files in the shapes the stages write (stages/script.py _stored, stages/audio.py narrate,
# audio_qa.check_narration, stages/broll.py gather/choose, stages/final.py assemble) ---------------------

SCRIPT_JSON = {
    "title": "The Hubble Space Telescope",
    "hook": "What can a telescope see from orbit? Let's find out.",
    "segments": [
        {
            "heading": "Introduction",
            "sentences": [
                {"text": "What can a telescope see from orbit?", "fact_ids": []},
                {"text": "Let's find out.", "fact_ids": []},
            ],
            "visual_cue": "The Hubble Space Telescope",
            "on_screen_text": "The Hubble Space Telescope",
        },
        {
            "heading": "Launch",
            "sentences": [
                {"text": "Hubble was launched in 1990.", "fact_ids": [7, 3]},
                {"text": "It circles Earth every 95 minutes.", "fact_ids": [3]},
            ],
            "visual_cue": "space shuttle launch",
            "on_screen_text": "",
        },
        {
            "heading": "Repairs",
            "sentences": [{"text": "Astronauts fixed its mirror in 1993.", "fact_ids": [12]}],
            "visual_cue": "astronauts in orbit",
            "on_screen_text": "1993",
        },
        {
            "heading": "Closing",
            "sentences": [{"text": "Thanks for watching.", "fact_ids": []}],
            "visual_cue": "stars",
            "on_screen_text": "",
        },
    ],
    "description": "How Hubble was launched and repaired.",
    "tags": ["hubble", "space"],
    "chapters": [{"segment": 1, "title": "Launch"}, {"segment": 2, "title": "Repairs"}],
    "sources": [
        {
            "title": "Hubble Space Telescope",
            "url": "https://en.wikipedia.org/wiki/Hubble_Space_Telescope",
            "path": None,
        },
        {"title": "Hubble notes", "url": None, "path": "knowledge/sources/science_en/hubble.md"},
    ],
    "topic": "The Hubble Space Telescope",
    "language": "en",
    "writer": "offline template writer",
    "disclosure": "Script: nicheflow's offline template writer, from the sources listed.",
    "review_notes": None,
    "revision": 1,
    "notes_understood": [],
    "grounding_flags": [
        {
            "segment": None,
            "sentence": None,
            "text": "What can a telescope see from orbit? Let's find out.",
            "problem": "hook contains a number but cites no fact (the hook cannot cite)",
        },
        {
            "segment": 0,
            "sentence": 1,
            "text": "It circles Earth every 95 minutes.",
            "problem": "number(s) 95 appear in none of its cited facts (3)",
        },
    ],
    "usage": None,
}

# stages/script.py apply_edits: the edited sentence keeps the writer's text
EDITED_SENTENCE = {
    "text": "Hubble went up in 1990.",
    "fact_ids": [7, 3],
    "original": "Hubble was launched in 1990.",
    "edited": True,
}

TIMINGS_JSON = {
    "voice": "espeak-ng en-us at 165 wpm",
    "duration": 14.2,
    "loudness": {"integrated_lufs": -14.1, "true_peak_dbtp": -1.6},
    "words": [
        {"text": "What", "start": 0.0, "end": 0.21, "segment": 0},
        {"text": "can", "start": 0.21, "end": 0.4, "segment": 0},
        {"text": "Hubble", "start": 3.61, "end": 4.0, "segment": 1},
        {"text": "was", "start": 4.0, "end": 4.2, "segment": 1},
        {"text": "Astronauts", "start": 8.45, "end": 9.1, "segment": 2},
        {"text": "Thanks", "start": 12.3, "end": 12.7, "segment": 3},
    ],
    "segments": [
        {"segment": 0, "start": 0.0, "end": 3.16, "file": "audio/r1/segment-00.wav"},
        {"segment": 1, "start": 3.61, "end": 8.0, "file": "audio/r1/segment-01.wav"},
        {"segment": 2, "start": 8.45, "end": 11.85, "file": "audio/r1/segment-02.wav"},
        {"segment": 3, "start": 12.3, "end": 14.2, "file": "audio/r1/segment-03.wav"},
    ],
    # added by audio QA when the voice gave no word timings for some segments
    "word_timings": "faster-whisper (base, packaged) for segments 2",
}


def visual(segment: int, option: int, source: str = "pexels") -> dict:
    if source == "generated":
        return {
            "segment": segment,
            "kind": "image",
            "path": f"broll/r1/segment-{segment:02d}-{option}.png",
            "source": "generated",
            "licence": "generated by nicheflow (no third-party rights)",
            "attribution": "nicheflow",
            "url": None,
            "description": "a title card",
            "width": 1920,
            "height": 1080,
            "duration": None,
            "id": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        }
    return {
        "segment": segment,
        "kind": "video",
        "path": f"broll/r1/segment-{segment:02d}-{option}.mp4",
        "source": source,
        "licence": "Pexels License",
        "attribution": "Hal Ito / Pexels",
        "url": f"https://www.pexels.com/video/rocket-{segment}{option}/",
        "description": "rocket launch countdown",
        "width": 1280,
        "height": 720,
        "duration": 3.0,
        "id": f"2{segment}{option}",
    }


OPTIONS = [[visual(s, 0), visual(s, 1), visual(s, 2, "generated")] for s in range(4)]
VISUALS_JSON = {"provider": "pexels, generated", "visuals": [o[0] for o in OPTIONS], "options": OPTIONS}
CHOSEN_JSON = {
    **VISUALS_JSON,
    "visuals": [OPTIONS[0][0], OPTIONS[1][2], OPTIONS[2][0], OPTIONS[3][0]],
    "choices": {"1": 2},
}

RENDER_JSON = {
    "duration": 14.2,
    "chapters": [{"start": 0.0, "title": "Introduction"}],
    "thumbnails": ["final/r1/thumbnails/thumb-1.jpg", "final/r1/thumbnails/thumb-2.jpg"],
    "thumbnail": 0,
}

# --- checkpoint artifacts, as stages/*.py produce, the runner and approve-with-edits leave them -----------

SCRIPT_ROW = {
    "script": "script/r2/script.json",
    "writer": "groq (llama-3.3-70b-versatile)",
    "fact_ids": [3, 7, 12],
    "grounding_flags": 1,
    "usage": {
        "prompt_tokens": 1500,
        "completion_tokens": 300,
        "total_tokens": 1800,
        "cost_usd": 0.0011,
        "calls": 1,
    },
    "addresses_notes": "start with the launch date",
    "notes_understood": [],
}
SCRIPT_ROW_EDITED = {
    **SCRIPT_ROW,
    "script": "script/r2/script.edited.json",
    "_original": SCRIPT_ROW,
}
QA_CHECKED = {
    "status": "checked",
    "model": "tiny.en, packaged",
    "max_wer": 0.35,
    "seconds": 2.4,
    "segments": [
        {
            "segment": 0,
            "wer": 0.0,
            "diff": "",
            "flagged": False,
            "expected": "What can a telescope see from orbit? Let's find out.",
            "heard": "What can a telescope see from orbit? Let's find out.",
        },
        {
            "segment": 1,
            "wer": 0.5,
            "diff": "expected \u201claunched\u201d, heard \u201clunched\u201d",
            "flagged": True,
            "expected": "Hubble was launched in 1990.",
            "heard": "Hubble was lunched in 1990.",
        },
    ],
}
AUDIO_ROW = {
    "narration": "audio/r1/narration.wav",
    "duration": 14.2,
    "voice": "espeak-ng en-us at 165 wpm",
    "rate_wpm": 165,
    "mix": "audio/r1/mix.wav",
    "timings": "audio/r1/timings.json",
    "qa": QA_CHECKED,
}
AUDIO_ROW_SKIPPED = {
    **{k: v for k, v in AUDIO_ROW.items() if k != "mix"},
    "qa": {"status": "skipped", "reason": "no model", "seconds": 0.01},
}
BROLL_ROW_EDITED = {
    "visuals": "broll/r1/visuals.chosen.json",
    "_original": {"visuals": "broll/r1/visuals.json"},
}
FINAL_ROW = {
    "video": "final/r1/video.mp4",
    "captions": "final/r1/captions.srt",
    "render": "final/r1/render.json",
    "thumbnails": RENDER_JSON["thumbnails"],
    "duration": 14.2,
}
FINAL_ROW_EDITED = {
    **FINAL_ROW,
    "overrides": {"title": "Hubble, fact by fact", "thumbnail": 1},
    "_original": FINAL_ROW,
}

FILES = [
    (StoredScript, SCRIPT_JSON),
    (
        StoredScript,
        {**SCRIPT_JSON, "segments": [{**SCRIPT_JSON["segments"][0], "sentences": [EDITED_SENTENCE]}]},
    ),
    (Timings, TIMINGS_JSON),
    (Timings, {k: v for k, v in TIMINGS_JSON.items() if k != "word_timings"}),
    (VisualsManifest, VISUALS_JSON),
    (VisualsManifest, CHOSEN_JSON),
    (Render, RENDER_JSON),
]
ROWS = [
    (ScriptOutput, SCRIPT_ROW),
    (ScriptOutput, SCRIPT_ROW_EDITED),
    (
        ScriptOutput,
        {
            "script": "script/r1/script.json",
            "writer": "offline template writer",
            "fact_ids": [3],
            "grounding_flags": 0,
        },
    ),
    (AudioOutput, AUDIO_ROW),
    (AudioOutput, AUDIO_ROW_SKIPPED),
    (AudioOutput, {**AUDIO_ROW_SKIPPED, "qa": {"status": "off"}}),
    (BrollOutput, {"visuals": "broll/r1/visuals.json"}),
    (BrollOutput, BROLL_ROW_EDITED),
    (FinalOutput, FINAL_ROW),
    (FinalOutput, FINAL_ROW_EDITED),
]


def checkpoint(artifacts: dict) -> Checkpoint:
    now = datetime.now(UTC)
    return Checkpoint(1, 1, "science_en", "final", 1, "pending", artifacts, None, None, now, None)


def _id(case) -> str:
    kind, data = case
    return f"{kind.__name__}-{len(json.dumps(data))}"


@pytest.mark.parametrize("case", FILES, ids=_id)
def test_todays_files_load_and_save_unchanged(case, tmp_path: Path):
    kind, data = case
    path = tmp_path / "artifact.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")

    record = kind.load(path)
    assert record.dump() == data  # the same keys, nulls and values: nothing added, nothing lost
    again = kind.load(record.save(tmp_path / "again.json"))
    assert again == record and json.loads((tmp_path / "again.json").read_text(encoding="utf-8")) == data


@pytest.mark.parametrize("case", ROWS, ids=_id)
def test_todays_checkpoint_rows_load_unchanged(case):
    kind, data = case
    record = kind.of(checkpoint(data))
    assert record.dump() == data
    assert kind.model_validate(record.dump()) == record


def test_the_records_read_what_the_stages_need():
    script = StoredScript.model_validate(SCRIPT_JSON)
    assert script.segments[1].text == "Hubble was launched in 1990. It circles Earth every 95 minutes."
    assert script.segments[1].cited_ids() == [3, 7] and script.cited_ids() == [3, 7, 12]
    assert script.grounding_flags[0].segment is None and script.sources[1].url is None

    timings = Timings.model_validate(TIMINGS_JSON)
    assert [w.text for w in timings.words_in(1)] == ["Hubble", "was"]
    assert timings.loudness.true_peak_dbtp == -1.6 and timings.segments[2].file == "audio/r1/segment-02.wav"

    audio = AudioOutput.model_validate(AUDIO_ROW)
    assert audio.soundtrack == "audio/r1/mix.wav"
    assert AudioOutput.model_validate(AUDIO_ROW_SKIPPED).soundtrack == "audio/r1/narration.wav"
    assert [s.segment for s in audio.qa.flagged] == [1]

    chosen = VisualsManifest.model_validate(CHOSEN_JSON)
    assert chosen.visuals[1].source == "generated" and chosen.visuals[1].url is None
    assert ScriptOutput.model_validate(SCRIPT_ROW_EDITED).original == SCRIPT_ROW
    assert FinalOutput.model_validate(FINAL_ROW_EDITED).overrides.thumbnail == 1


def test_stage_functions_work_on_todays_files(tmp_path: Path):
    p = Production(1, "science_en", "The Hubble Space Telescope", "running", tmp_path)
    script = StoredScript.model_validate(SCRIPT_JSON)
    timings = Timings.model_validate(TIMINGS_JSON)
    manifest = VisualsManifest.model_validate(VISUALS_JSON)

    assert [(s.start, s.end, s.kind) for s in scenes_for(p, timings, manifest)][:2] == [
        (0.0, 3.61, "video"),
        (3.61, 8.45, "video"),
    ]
    assert [w.text for w in words_of(timings, 3.0, 9.0)] == ["Hubble", "was", "Astronauts"]
    assert [c.dump() for c in chapters(script, timings)] == [{"start": 0.0, "title": "Introduction"}]
    assert segment_seconds(timings)[1] == pytest.approx(4.84)
    # no roles in today's script.json: the intro is the first segment, the closing the last, stating no fact
    assert [(c.start, c.end) for c in choose(script, timings, 58, 1)] == [(3.51, 12.2)]
    assert audio_flags(timings, 14, QAReport.model_validate(QA_CHECKED)) == [
        "segment 1: 0.6 words/s (expected 1.5-4.5)",
        "segment 2: 0.5 words/s (expected 1.5-4.5)",
        "segment 3: 0.3 words/s (expected 1.5-4.5)",
        "segment 4: 0.5 words/s (expected 1.5-4.5)",
        "segment 2: heard differs from the script (WER 0.50 > 0.35): expected \u201claunched\u201d, heard "
        "\u201clunched\u201d",
    ]
    text = description(script, Render.model_validate(RENDER_JSON), "espeak-ng", manifest.visuals)
    assert text.startswith(
        "How Hubble was launched and repaired.\n\nChapters:\n0:00 Introduction\n\nSources:\n"
    )
    assert (
        "- Hubble Space Telescope: https://en.wikipedia.org/wiki/Hubble_Space_Telescope\n- Hubble notes\n"
        in text
    )
    assert "B-roll: Hal Ito / Pexels https://www.pexels.com/video/rocket-00/" in text


def test_built_records_have_todays_shapes():
    # optional keys that were never set stay absent; explicit nulls stay
    assert QAReport(status="off").dump() == {"status": "off"}
    assert QAReport(status="skipped", reason="no model", seconds=0.01).dump() == AUDIO_ROW_SKIPPED["qa"]
    assert set(VisualItem.model_validate(visual(0, 2, "generated")).dump()) == set(visual(0, 0))
    built = AudioOutput(narration="n.wav", duration=1.0, voice="v", rate_wpm=165, timings="t.json")
    assert built.dump() == {
        "narration": "n.wav",
        "duration": 1.0,
        "voice": "v",
        "rate_wpm": 165,
        "timings": "t.json",
    }
    built.addresses_notes, built.notes_understood = "slower", ["slower"]
    assert built.dump()["addresses_notes"] == "slower" and "mix" not in built.dump()


def test_unknown_keys_survive_a_load_and_save(tmp_path: Path):
    data = copy.deepcopy(TIMINGS_JSON)
    data["speaker"] = {"name": "a later field"}
    data["words"][0]["confidence"] = 0.93
    timings = Timings.model_validate(data)
    timings.word_timings = "faster-whisper (tiny.en, packaged) for segments 0"
    again = Timings.load(timings.save(tmp_path / "timings.json")).dump()
    assert again["speaker"] == {"name": "a later field"} and again["words"][0]["confidence"] == 0.93
    assert again["word_timings"].endswith("segments 0")


def test_edits_keep_the_stage_output_and_the_reviewers_choices():
    cp = checkpoint(FINAL_ROW)
    art = FinalOutput.for_edits(cp)
    art.overrides = FinalEdits(title="Hubble, fact by fact", thumbnail=1)
    assert art.dump() == FINAL_ROW_EDITED
    assert StageOutput.of(checkpoint(art.dump())).original == FINAL_ROW  # what reopen restores

    proposed = Listing(title="The Hubble Space Telescope", description="d", tags=["hubble"], thumbnail=0)
    assert proposed.edited(art.overrides).dump() == {
        "title": "Hubble, fact by fact",
        "description": "d",
        "tags": ["hubble"],
        "thumbnail": 1,
    }
    assert proposed.edited(None) == proposed

    manifest = VisualsManifest.model_validate(copy.deepcopy(VISUALS_JSON))
    manifest.choose({1: 2})
    assert manifest.dump() == CHOSEN_JSON


def test_approve_with_edits_on_todays_files(tmp_path: Path):
    p = Production(1, "science_en", "The Hubble Space Telescope", "running", tmp_path)
    StoredScript.model_validate(SCRIPT_JSON).save(p.abs("script/r2/script.json"))
    VisualsManifest.model_validate(VISUALS_JSON).save(p.abs("broll/r1/visuals.json"))

    row = {k: v for k, v in SCRIPT_ROW.items() if k != "notes_understood"}
    edited = script.apply_edits(None, p, checkpoint(row), {"sentences": {"1.0": " Hubble went up  in 1990."}})
    assert edited.dump() == {**row, "script": "script/r2/script.edited.json", "_original": row}
    assert StoredScript.load(p.abs(edited.script)).dump() == {
        **SCRIPT_JSON,
        "segments": [
            SCRIPT_JSON["segments"][0],
            {
                **SCRIPT_JSON["segments"][1],
                "sentences": [EDITED_SENTENCE, SCRIPT_JSON["segments"][1]["sentences"][1]],
            },
            *SCRIPT_JSON["segments"][2:],
        ],
    }

    swapped = broll.apply_edits(
        None, p, checkpoint({"visuals": "broll/r1/visuals.json"}), {"choices": {"1": 2}}
    )
    assert swapped.dump() == BROLL_ROW_EDITED and swapped.load_visuals(p).dump() == CHOSEN_JSON

    assert final.apply_edits(
        None, p, checkpoint(FINAL_ROW), {"title": "Hubble, fact by fact", "thumbnail": 1}
    ).dump() == (FINAL_ROW_EDITED)
    with pytest.raises(CheckpointError, match="edits.description: Input should be a valid string"):
        final.apply_edits(None, p, checkpoint(FINAL_ROW), {"description": ["not", "text"]})
    tags = ["x y"] * 130  # 130 * (3 + 2 quotes) + 129 commas = 779
    with pytest.raises(CheckpointError, match="^edits.title: remove < and >") as refused:
        final.apply_edits(None, p, checkpoint(FINAL_ROW), {"title": "<b>Hubble</b>", "tags": tags})
    assert str(refused.value).splitlines()[1].startswith("edits.tags: 779 characters as YouTube counts them")
