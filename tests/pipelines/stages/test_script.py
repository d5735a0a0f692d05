"""The script stage with Groq configured: the real SDK against a local server speaking Groq's API, the
structured script stored for the pipeline, grounding flags for checkpoint 1, usage recorded, the
channel's learnings in the prompt; and the offline fallback when there is no key."""

from __future__ import annotations

import json

from knowledge import store
from pipelines import checkpoints, review
from pipelines.db import connect
from pipelines.stages import runner, start
from tests.helpers import edit_yaml
from tests.helpers.fake_groq import FakeGroq


def use_groq(configs):
    cfg = configs / "science_en.yaml"
    edit_yaml(cfg, {"llm.provider": "groq", "llm.tone": "curious"})


def groq_script(facts) -> tuple[dict, int]:
    """A script the model could have written: two facts quoted, one claim the facts do not support."""
    a, b = facts[0], facts[1]
    script = {
        "title": "Hubble, up close",
        "hook": "What did one telescope change?",
        "segments": [
            {
                "heading": "Launch",
                "visual_cue": "a shuttle launch",
                "on_screen_text": "1990",
                "sentences": [{"text": a.claim, "fact_ids": [a.id]}, {"text": b.claim, "fact_ids": [b.id]}],
            },
            {
                "heading": "Cost",
                "visual_cue": "coins",
                "on_screen_text": "",
                "sentences": [
                    {"text": "The telescope cost exactly 99 trillion dollars to build.", "fact_ids": [a.id]},
                    {"text": "Thanks for watching.", "fact_ids": []},
                ],
            },
        ],
        "description": "How Hubble came to be.",
        "tags": ["hubble"],
        "chapters": [{"segment": 0, "title": "Launch"}, {"segment": 1, "title": "Cost"}],
    }
    words = sum(
        len(t.split())
        for t in [script["hook"]] + [s["text"] for g in script["segments"] for s in g["sentences"]]
    )
    return script, words


def test_groq_writes_the_script_and_the_flags_reach_the_review(database, data_dir, configs, monkeypatch):
    use_groq(configs)
    pid = start.run("science_en", "The Hubble Space Telescope", "run1")
    runner.run("knowledge", pid)
    with connect() as conn:
        facts = store.search_facts(conn, "science_en", "english", "Hubble Space Telescope launched")
        store.add_learning(
            conn, "science_en", pid, "review:script", "changes_requested: open with a question"
        )
        script, words = groq_script(facts)
        # a target the script's length meets (the writer checks ±10%)
        conn.execute(
            "UPDATE productions SET target_seconds = %s WHERE id = %s",
            (max(20, round(words * 60 / 165)), pid),
        )
    with FakeGroq() as fake:
        fake.add_completion(json.dumps(script), prompt_tokens=1500, completion_tokens=300)
        monkeypatch.setenv("GROQ_API_KEY", "gsk_test_key")
        monkeypatch.setenv("GROQ_BASE_URL", fake.url)
        cid = runner.run_stage("script", pid)
    prompt = json.dumps(fake.requests[0].messages)
    assert fake.requests[0].headers["authorization"] == "Bearer gsk_test_key"
    assert "open with a question" in prompt and "curious" in prompt  # learnings and tone shape the prompt
    assert "Who was involved?" in prompt and "Why does it matter?" in prompt  # the topic's questions
    with connect() as conn:
        cp = checkpoints.get(conn, cid)
        view = review.checkpoint_detail(conn, cid)["view"]
    assert cp.artifacts["writer"] == "groq (llama-3.3-70b-versatile)"
    assert cp.artifacts["usage"]["total_tokens"] == 1800 and cp.artifacts["usage"]["cost_usd"] > 0
    assert cp.artifacts["fact_ids"] == sorted({facts[0].id, facts[1].id})
    assert [s["heading"] for s in view["segments"]] == ["Introduction", "Launch", "Cost"]
    assert view["segments"][0]["sentences"][0]["text"] == "What did one telescope change?"
    flagged = [(f["segment"], f["sentence"]) for f in view["flags"]]
    assert (2, 0) in flagged and any("99" in f["problem"] for f in view["flags"])
    assert (1, 0) not in flagged  # a quoted fact is supported


def test_without_a_key_the_offline_writer_is_used(database, data_dir, configs, monkeypatch, caplog):
    use_groq(configs)
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    pid = start.run("science_en", "The Hubble Space Telescope", "run1")
    runner.run("knowledge", pid)
    cid = runner.run_stage("script", pid)
    with connect() as conn:
        assert checkpoints.get(conn, cid).artifacts["writer"] == "offline template writer"
    assert "GROQ_API_KEY" in caplog.text
