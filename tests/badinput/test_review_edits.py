"""Bad review decisions and edits, through pipelines.review.decide (what the Review page, its REST API and
the CLI all call) and the page's form reader (plugins/nicheflow_airflow/review_forms.py). Each is refused
saying what to fix, and the checkpoint keeps waiting with nothing changed; what a reviewer typed is shown
back on the page escaped, never as markup."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from pipelines import checkpoints, production, review
from pipelines.artifacts import Render, StoredScript, VisualsManifest
from pipelines.checkpoints import CheckpointError
from pipelines.db import connect
from pipelines.paths import REPO
from pipelines.stages import runner, start
from tests.pipelines.test_artifacts import AUDIO_ROW, FINAL_ROW, RENDER_JSON, SCRIPT_JSON, VISUALS_JSON

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; pytest does not

from nicheflow_airflow import review_forms as forms  # noqa: E402

SCRIPT_ROW = {"script": "script/r1/script.json", "writer": "test", "fact_ids": [], "grounding_flags": 0}
BEFORE = {
    "script": SCRIPT_ROW,
    "audio": AUDIO_ROW,
    "broll": {"visuals": "broll/r1/visuals.json"},
    "final": FINAL_ROW,
}
SCRIPT_TAG = "<script>alert('x')</script>"


def pending_at(stage: str) -> int:
    """A production waiting at `stage`'s checkpoint, the stages before it approved; its files in today's
    shapes (tests.pipelines.test_artifacts), no render needed."""
    pid = start.run("science_en", "The Hubble Space Telescope", f"manual__{stage}", target_seconds=30)
    with connect() as conn:
        p = production.load(conn, pid)
        StoredScript.model_validate({**SCRIPT_JSON, "topic": p.topic}).save(p.abs("script/r1/script.json"))
        VisualsManifest.model_validate(VISUALS_JSON).save(p.abs("broll/r1/visuals.json"))
        Render.model_validate(RENDER_JSON).save(p.abs(FINAL_ROW["render"]))
        for before in list(BEFORE)[: list(BEFORE).index(stage)]:
            cp = checkpoints.open_checkpoint(conn, pid, p.channel, before, 1, BEFORE[before])
            checkpoints.decide(conn, cp.id, "approved", "tester")
        return checkpoints.open_checkpoint(conn, pid, p.channel, stage, 1, BEFORE[stage]).id


@dataclass(frozen=True)
class Case:
    id: str
    stage: str
    edits: dict | None
    message: str
    decision: str = "approved"
    notes: str | None = None
    extra: dict = field(default_factory=dict)


CASES = [
    Case(
        "a sentence with a script element",
        "script",
        {"sentences": {"1.0": f"Hubble was launched in 1990.{SCRIPT_TAG}"}},
        "edits.sentences['1.0']: remove the HTML tags: a sentence is narrated and captioned as it is written",
    ),
    Case(
        "a sentence with subtitle override tags",
        "script",
        {"sentences": {"1.1": "{\\an8}It circles Earth."}},
        "edits.sentences['1.1']: remove the subtitle override tags such as {\\an8}",
    ),
    Case("an empty sentence", "script", {"sentences": {"1.0": "   "}}, "edits.sentences['1.0']: empty text"),
    Case(
        "an unknown sentence index",
        "script",
        {"sentences": {"9.9": "Hubble."}},
        "edits.sentences: '9.9' is not a '<segment>.<sentence>' of this script",
    ),
    Case(
        "a negative sentence index",
        "script",
        {"sentences": {"-1.0": "Hubble."}},
        "edits.sentences: '-1.0' is not a '<segment>.<sentence>' of this script",
    ),
    Case(
        "a sentence key that is not an index",
        "script",
        {"sentences": {"intro": "Hubble."}},
        "edits.sentences: 'intro' is not a '<segment>.<sentence>' of this script",
    ),
    Case(
        "an edit meant for the final stage at the script",
        "script",
        {"title": "Another title"},
        "edits: unknown fields ['title']; the script checkpoint takes sentences",
    ),
    Case(
        "edits at the audio checkpoint, which takes none",
        "audio",
        {"sentences": {"0.0": "Hi."}},
        "the audio checkpoint takes no edits: approve, request changes or reject",
    ),
    Case(
        "a b-roll option out of range",
        "broll",
        {"choices": {"0": 99}},
        "edits.choices['0'] = 99: no such segment or option",
    ),
    Case(
        "a b-roll option that is not a number",
        "broll",
        {"choices": {"0": True}},
        "edits.choices['0'] = True: no such segment or option",
    ),
    Case(
        "a title over the limit",
        "final",
        {"title": "Hubble " * 20},
        "edits.title: 140 characters; YouTube allows 100 — shorten it by 40",
    ),
    Case(
        "a title with a tag",
        "final",
        {"title": "Hubble <b>live</b>"},
        "edits.title: remove < and > (YouTube refuses them)",
    ),
    Case("a thumbnail index out of range", "final", {"thumbnail": 2}, "edits.thumbnail: choose 0-1"),
    Case("a negative thumbnail index", "final", {"thumbnail": -1}, "edits.thumbnail: choose 0-1"),
    Case("a thumbnail that is not a number", "final", {"thumbnail": "two"}, "edits.thumbnail: choose 0-1"),
    Case("a thumbnail that is true", "final", {"thumbnail": True}, "edits.thumbnail: choose 0-1"),
    Case(
        "a description over 5,000 bytes",
        "final",
        {"description": "Hubble é ótimo. " * 320},
        "edits.description: 6,188 bytes in UTF-8 with the how-made disclosure added back (427 bytes); YouTube "
        "allows 5,000 — cut about 1,188 bytes (accented letters take 2)",
    ),
    Case(
        "tags with <",
        "final",
        {"tags": ["space", "<b>nasa"]},
        "edits.tags: remove < and > from '<b>nasa' (YouTube refuses them)",
    ),
    Case("tags that are one string", "final", {"tags": "space, nasa"}, "edits.tags: a list of strings"),
    Case(
        "changes requested without notes",
        "script",
        None,
        "changes requested needs notes saying why / what to change",
        decision="changes_requested",
        notes="  ",
    ),
    Case(
        "a rejection without a reason", "final", None, "rejected needs notes saying why", decision="rejected"
    ),
    Case(
        "edits with a request for changes",
        "script",
        {"sentences": {"1.0": "Hubble flew in 1990."}},
        "edits go with an approval",
        decision="changes_requested",
        notes="shorter",
    ),
    Case("an unknown decision", "script", None, "unknown decision 'maybe'", decision="maybe"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_bad_decision_is_refused_and_the_checkpoint_keeps_waiting(database, data_dir, configs, case):
    cid = pending_at(case.stage)
    with connect() as conn:
        before = checkpoints.get(conn, cid)
    with connect() as conn, pytest.raises(CheckpointError) as refused:
        review.decide(conn, cid, case.decision, "ana", case.notes, edits=case.edits)
    assert case.message in str(refused.value), str(refused.value)
    with connect() as conn:  # nothing decided, nothing changed: the reviewer fixes it and decides again
        after = checkpoints.get(conn, cid)
        assert (after.status, after.artifacts, after.edits) == ("pending", before.artifacts, None)
        assert checkpoints.events(conn, cid) == []


FINAL_VIEW = {"thumbnail": 0, "title": "Hubble", "description": "Fine.", "tags": ["space"]}


@pytest.mark.parametrize(
    "form, message",
    [
        ({"thumbnail": "two"}, "thumbnail: 'two' is not a number"),
        ({"thumbnail": "1.5"}, "thumbnail: '1.5' is not a number"),
        ({"action": "publish"}, "unknown action 'publish'; use one of the buttons"),
        ({"action": "approve", "title": "Changed"}, "you changed 1 field(s): press “Approve with edits”"),
    ],
    ids=["thumbnail a word", "thumbnail a fraction", "unknown action", "approve that would drop an edit"],
)
def test_a_bad_form_is_refused_saying_what_to_do(form, message):
    with pytest.raises(forms.FormError) as refused:
        forms.decision_from_form("final", FINAL_VIEW, {"action": "approve_edits", **form})
    assert message in str(refused.value)


def test_what_a_reviewer_typed_is_shown_back_escaped(database, data_dir, configs):
    """A request for changes whose notes hold a script element, then a refused edit with one: the
    checkpoint page of the new revision (as the page shows it after the refusal: the error and the form
    as typed) holds no raw markup from either."""
    from nicheflow_airflow.review_pages import templates

    pid = start.run("science_en", "The Voyager probes", "manual__escape", target_seconds=30)
    runner.run("knowledge", pid)
    r1 = runner.run_stage("script", pid)
    with connect() as conn:
        review.decide(
            conn, r1, "changes_requested", "ana", f"shorter {SCRIPT_TAG} <img src=x onerror=alert(1)>"
        )
    r2 = runner.run_stage("script", pid)
    typed = {"action": "approve_edits", "checkpoint_id": str(r2), "sentence.0.0": f"Voyager {SCRIPT_TAG}"}
    with connect() as conn:
        d = review.checkpoint_detail(conn, r2)
        edits = forms.edits_from_form("script", d["view"], typed)
        with pytest.raises(CheckpointError) as refused:
            review.decide(conn, r2, "approved", "ana", edits=edits)
    d |= {"latest": True, "permissions": {"decide": True, "reopen": False}}
    html = templates.get_template("checkpoint.html").render(
        d=d, cp=d["checkpoint"], view=d["view"], prod=d["production"], me=SimpleNamespace(name="ana"),
        base="/review", airflow="", media=lambda path: f"/review/media/{pid}/{path}", editable=True,
        role_can_decide=True, error=str(refused.value), form=typed,
    )  # fmt: skip
    assert "alert('x')" not in html and "<img" not in html  # (the page's own <script> is its JavaScript)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # shown, as text
    assert "Voyager &lt;script&gt;" in html  # the refused sentence, back in its box to be fixed
