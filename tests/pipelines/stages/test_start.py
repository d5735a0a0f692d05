"""The start stage: a topic that arrives with markup (through Airflow's REST API, say) is stored, written
about and titled as plain text YouTube takes; a topic that is nothing but markup is refused, saying what to do."""

from __future__ import annotations

import pytest

from pipelines import checkpoints, production
from pipelines.artifacts import Render, ScriptOutput
from pipelines.db import connect
from pipelines.errors import PermanentError
from pipelines.metadata import problems
from pipelines.stages import publish, runner, start

HOSTILE_TOPIC = (
    "<h1>The Hubble Space Telescope</h1>{\\an8}{\\b1} 100% \\ real <script>alert('x')</script>"
    "'; DROP TABLE productions; -- ../../etc/passwd <img src=x onerror=alert(1)> <3"
)
PLAIN_TOPIC = "The Hubble Space Telescope 100% \\ real '; DROP TABLE productions; -- ../../etc/passwd 3"


def _no_markup(text: str) -> bool:
    return not any(bad in text for bad in ("<", ">", "{\\", "script", "alert", "<img"))


def test_a_topic_with_markup_is_made_plain_before_anything_uses_it(database, data_dir, configs):
    pid = start.run("science_en", HOSTILE_TOPIC, "manual__hostile", target_seconds=30)
    runner.run("knowledge", pid)
    cid = runner.run_stage("script", pid)
    with connect() as conn:
        p = production.load(conn, pid)
        assert conn.execute("SELECT count(*) AS n FROM productions").fetchone()["n"] == 1  # the SQL is text
        script = ScriptOutput.of(checkpoints.get(conn, cid)).load_script(p)
    assert p.topic == PLAIN_TOPIC and _no_markup(p.topic)
    assert p.workspace.parent == data_dir / "channels" / "science_en" / "productions"
    assert _no_markup(script.title) and script.title == PLAIN_TOPIC
    spoken = script.segments[0].sentences[0].text  # the hook: the first thing the narration says
    assert _no_markup(spoken) and "Hubble Space Telescope" in spoken
    listing = publish.draft(p, script, Render(duration=30.0), "espeak-ng en-us", [])
    assert _no_markup(listing.title) and _no_markup(listing.description)
    assert problems(listing.title, listing.description, listing.tags) == {}
    assert problems(p.topic, script.title, [script.title]) == {}


def test_a_topic_that_is_only_markup_is_refused(database, data_dir, configs):
    with pytest.raises(
        start.EmptyTopic, match=r"no words once its markup .* Trigger with the topic as plain words"
    ):
        start.run("science_en", "<b></b>{\\an8}<script>Hubble</script> <>", "manual__empty")
    with connect() as conn:
        assert conn.execute("SELECT count(*) AS n FROM productions").fetchone()["n"] == 0
    assert issubclass(start.EmptyTopic, PermanentError)  # the task fails at once, without retries
