"""Bad topics where topic text enters: the trigger (the Airflow form, its REST API and `airflow dags trigger
--conf`, all of which land in the start stage, pipelines/stages/start.py) and the backlog in the channel YAML
(tests/badinput/test_channel_yaml.py). What YouTube or the pipeline cannot take is refused with what to do,
or cleaned, and the task log says what was removed. For each accepted topic, everything made from it is
checked: the stored topic, the workspace folder, the script's title and first spoken sentence, the
proposed YouTube title and description, and the captions (ASS) of that first sentence."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

import pytest

from pipelines import checkpoints, production
from pipelines.artifacts import Render, ScriptOutput
from pipelines.db import connect
from pipelines.media.align import WordTiming
from pipelines.media.captions import ass_escape, build_cues, write_ass
from pipelines.metadata import problems
from pipelines.paths import REPO
from pipelines.stages import publish, runner, start

HUBBLE = "The Hubble Space Telescope"


@dataclass(frozen=True)
class Accepted:
    id: str
    given: str
    plain: str  # the topic as stored and used
    slug: str  # the workspace folder, after "00001-"
    told: str | None  # what the task log says was removed (None: nothing to tell)


ACCEPTED = [
    Accepted(
        "control characters",
        "The Hubble\x07 Space\x1b Telescope\x7f",
        HUBBLE,
        "the-hubble-space-telescope",
        "control characters",
    ),
    Accepted(
        "NUL byte",
        "The Hubble\x00Space Telescope",
        HUBBLE,
        "the-hubble-space-telescope",
        "control characters",
    ),
    Accepted(
        "right-to-left text (Hebrew)",
        "טלסקופ החלל The Hubble Space Telescope",
        "טלסקופ החלל The Hubble Space Telescope",
        "the-hubble-space-telescope",
        None,
    ),
    Accepted(
        "right-to-left override U+202E with Arabic",
        "\u202eThe Hubble Space Telescope \u202cتلسكوب هابل",
        "The Hubble Space Telescope تلسكوب هابل",
        "the-hubble-space-telescope",
        "bidirectional override characters",
    ),
    Accepted(
        "emoji",
        "The Hubble Space Telescope 🔭✨",
        "The Hubble Space Telescope 🔭✨",
        "the-hubble-space-telescope",
        None,
    ),
    Accepted(
        "< > & and quotes",
        'The Hubble Space Telescope & "Pillars of Creation" > 3 < 4',
        'The Hubble Space Telescope & "Pillars of Creation" 3 4',
        "the-hubble-space-telescope-pillars-of-cr",
        "< and >",
    ),
    Accepted(
        "ASS override tags {\\an8} and \\N",
        "{\\an8}The Hubble\\NSpace Telescope{\\b1}",
        "The Hubble\\NSpace Telescope",
        "the-hubble-nspace-telescope",
        "subtitle override tags such as {\\an8}",
    ),
    Accepted(
        "path traversal",
        "../../etc/passwd The Hubble Space Telescope",
        "../../etc/passwd The Hubble Space Telescope",
        "etc-passwd-the-hubble-space-telescope",
        None,
    ),
    Accepted(
        "SQL",
        "The Hubble Space Telescope'; DROP TABLE productions; --",
        "The Hubble Space Telescope'; DROP TABLE productions; --",
        "the-hubble-space-telescope-drop-table-pr",
        None,
    ),
    Accepted(
        "HTML and script",
        "<h1>The Hubble Space Telescope</h1><script>alert('x')</script>",
        HUBBLE,
        "the-hubble-space-telescope",
        "HTML tags",
    ),
]


def _no_markup(text: str) -> bool:
    return not any(bad in text for bad in ("<", ">", "{\\", "\u202e", "\x00", "\x07", "script"))


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.id)
def test_an_accepted_topic_is_plain_text_in_everything_made_from_it(
    database, data_dir, configs, caplog, case
):
    with caplog.at_level(logging.INFO, logger="pipelines.stages.start"):
        pid = start.run("science_en", case.given, f"manual__{case.id}", target_seconds=30)
    runner.run("knowledge", pid)
    cid = runner.run_stage("script", pid)
    with connect() as conn:
        p = production.load(conn, pid)
        assert conn.execute("SELECT count(*) AS n FROM productions").fetchone()["n"] == 1  # SQL stays text
        script = ScriptOutput.of(checkpoints.get(conn, cid)).load_script(p)
    assert p.topic == case.plain
    assert p.workspace.parent == data_dir / "channels" / "science_en" / "productions"
    assert p.workspace.name == f"{pid:05d}-{case.slug}"

    assert script.title == case.plain and _no_markup(script.title)
    spoken = script.segments[0].sentences[0].text  # the hook: the first thing the narration says
    assert "Hubble" in spoken and _no_markup(spoken)
    listing = publish.draft(p, script, Render(duration=30.0), "espeak-ng en-us", [])
    assert listing.title == case.plain
    first_line = listing.description.splitlines()[0]
    assert first_line == spoken and _no_markup(listing.description)
    assert problems(listing.title, listing.description, listing.tags) == {}  # YouTube takes them

    # the captions of the first sentence (written words, as the aligner hands them): shown as typed
    words = [WordTiming(w, i * 0.4, i * 0.4 + 0.3) for i, w in enumerate(spoken.split())]
    ass = write_ass(build_cues(words), data_dir / "first.ass", 1920, 1080).read_text(encoding="utf-8")
    events = [
        line.split(",,", 1)[1].split(",", 4)[-1] for line in ass.splitlines() if line.startswith("Dialogue:")
    ]
    assert " ".join(events) == " ".join(ass_escape(c.text) for c in build_cues(words))
    assert "{\\an8}" not in ass and "\\N" not in "".join(
        events
    )  # no override tag, no line break from the topic

    told = [r.getMessage() for r in caplog.records if "made plain text" in r.getMessage()]
    if case.told:
        assert len(told) == 1 and case.told in told[0] and repr(case.plain) in told[0]
    else:
        assert told == []


@dataclass(frozen=True)
class Refused:
    id: str
    given: str
    error: type[Exception]
    message: str


REFUSED = [
    Refused(
        "10,000 characters",
        "The Hubble Space Telescope " * 370,
        start.BadTopic,
        "the topic is 9,989 characters long ('The Hubble Space Telescope The Hubble Space Telescope The Hu'...); "
        "a topic is at most 200",
    ),
    Refused(
        "a topic that is only markup",
        "<b></b>{\\an8}<script>Hubble</script> <>",
        start.EmptyTopic,
        "has no words once its markup",
    ),
    Refused(
        "only emoji and punctuation",
        "🔭✨ !!! ...",
        start.EmptyTopic,
        "Trigger with the topic as plain words",
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_a_topic_the_pipeline_cannot_take_is_refused_saying_what_to_do(database, data_dir, configs, case):
    with pytest.raises(case.error) as refused:
        start.run("science_en", case.given, f"manual__{case.id}")
    assert case.message in str(refused.value) and len(str(refused.value)) < 1000
    with connect() as conn:  # refused before anything was made
        assert conn.execute("SELECT count(*) AS n FROM productions").fetchone()["n"] == 0


@pytest.mark.parametrize("given", ["", "  \t\n  "], ids=["empty", "whitespace"])
def test_an_empty_topic_takes_the_next_backlog_topic(database, data_dir, configs, given):
    pid = start.run("science_en", given, "manual__empty")
    with connect() as conn:
        p = production.load(conn, pid)
    assert p.topic == "The Apollo 11 Moon landing"  # science_en's first backlog topic
    assert p.workspace.name == f"{pid:05d}-the-apollo-11-moon-landing"


def test_the_trigger_form_refuses_a_topic_of_10000_characters(configs, tmp_path, monkeypatch):
    """The DAG's `topic` param (the Airflow form, REST API and CLI trigger are validated against it) refuses
    10,000 characters before any run starts; a topic with markup around 200 characters of words is
    still taken (the start stage cleans it)."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    sys.path.insert(0, str(REPO / "plugins"))
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.exceptions import ParamValidationError

    params = (
        DagBag(dag_folder=str(REPO / "dags" / "nicheflow_channels.py")).dags["longform_science_en"].params
    )
    with pytest.raises(ParamValidationError, match="Invalid input for param topic: .* is too long"):
        params["topic"] = "x" * 10_000
    params["topic"] = "<b>" + "Hubble " * 28 + "</b>"  # 196 characters of words, 203 as typed
    assert params["topic"].startswith("<b>Hubble")
