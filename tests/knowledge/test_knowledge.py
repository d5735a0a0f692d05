import pytest

from knowledge import store
from knowledge.query import query
from knowledge.sources import read_all, read_document
from pipelines import production
from pipelines.db import connect
from pipelines.files import read_json
from pipelines.paths import REPO
from pipelines.stages import runner, start
from tests.helpers import edit_yaml

SAMPLE_SOURCES = [REPO / "knowledge/sources/science_en", REPO / "knowledge/sources/historia_ptbr"]


@pytest.mark.parametrize("folder", SAMPLE_SOURCES, ids=lambda p: p.name)
def test_sample_sources_parse_into_sentences(folder):
    docs = read_all(folder)
    assert len(docs) >= 5
    for doc in docs:
        sentences = doc.sentences("pt-BR" if "ptbr" in folder.name else "en")
        assert len(sentences) >= 10, doc.path
        assert all(s[-1] in '.!?"' for s in sentences), doc.path
        assert doc.reference_url and doc.reference_url.startswith("https://")


def test_front_matter_is_required(tmp_path):
    bad = tmp_path / "x.md"
    bad.write_text("# no front matter\nText.", encoding="utf-8")
    with pytest.raises(ValueError, match="front matter"):
        read_document(bad)


def test_research_stores_facts_then_knowledge_is_reused(database, data_dir, configs):
    pid = start.run("science_en", "The Apollo 11 Moon landing", "run1")
    first = runner.run("knowledge", pid)
    assert first["new_facts"] > 5 and first["reused_facts"] == 0 and first["score"] < 1
    with connect() as conn:
        facts = store.search_facts(conn, "science_en", "english", "Apollo 11")
        assert facts and all(
            f.source_title == "Apollo 11" and f.source_path.endswith("apollo-11.md") for f in facts
        )
    pid2 = start.run("science_en", "Apollo 11 and the Moon", "run2")
    second = runner.run("knowledge", pid2)
    assert (
        second["new_facts"] == 0 and second["reused_facts"] > 0
    )  # knowledge first: nothing researched again


def test_channels_never_see_each_others_facts(database, data_dir, configs):
    with connect() as conn:
        store.add_facts(
            conn,
            "science_en",
            "english",
            [{"claim": "The Apollo 11 mission landed on the Moon in 1969.", "source_title": "A"}],
        )
        store.add_facts(
            conn,
            "historia_ptbr",
            "portuguese",
            [{"claim": "A Apollo 11 pousou na Lua em 1969.", "source_title": "B"}],
        )
        en = query(conn, "science_en", "english", "Apollo 11", needed=1)
        pt = query(conn, "historia_ptbr", "portuguese", "Apollo 11", needed=1)
    assert [f.source_title for f in en.facts] == ["A"]
    assert [f.source_title for f in pt.facts] == ["B"]


def test_script_cites_stored_facts_in_channel_language(database, data_dir, configs):
    pid = start.run("historia_ptbr", None, "run1", target_seconds=60)  # first backlog topic
    runner.run("knowledge", pid)
    cid = runner.run_stage("script", pid)
    with connect() as conn:
        from pipelines import checkpoints

        cp = checkpoints.get(conn, cid)
        p = production.load(conn, pid)
        script = read_json(p.abs(cp.artifacts["script"]))
        cited = [s for seg in script["segments"] for s in seg["sentences"] if s["fact_ids"]]
        facts = {f.id: f for f in store.get_facts(conn, "historia_ptbr", [s["fact_ids"][0] for s in cited])}
    assert cp.status == "pending" and cp.stage == "script" and cp.revision == 1
    assert (
        script["topic"] == "A Independência do Brasil" and "sem modelo de linguagem" in script["disclosure"]
    )
    assert len(cited) >= 3
    for s in cited:  # every factual sentence is exactly a stored fact of this channel
        assert facts[s["fact_ids"][0]].claim == s["text"]
    assert script["grounding_flags"] == []  # quoted facts, and template lines that make no claim
    uncited = [s["text"] for seg in script["segments"] for s in seg["sentences"] if not s["fact_ids"]]
    assert all(not any(ch.isdigit() for ch in t) for t in uncited)  # template lines make no claims
    assert runner.run_stage("script", pid) == cid  # a retried task opens no second checkpoint


def test_backlog_skips_covered_topics_and_says_when_empty(database, data_dir, configs, tmp_path):
    with connect() as conn:
        p = production.create(conn, "science_en", "The Apollo 11 Moon landing", "r0")
        store.record_coverage(conn, "science_en", p.topic, p.id, [])
    assert start.next_topic("science_en") == "The Voyager probes and their journey beyond the planets"
    cfg = configs / "science_en.yaml"
    edit_yaml(cfg, {"topics": []}, existing=True)
    with pytest.raises(start.BacklogEmpty, match="trigger the DAG with a topic"):
        start.next_topic("science_en")


def test_near_duplicates_are_not_stored_twice_and_reuse_is_recorded(database, data_dir, configs):
    claim = "The Hubble Space Telescope was launched into low Earth orbit in 1990."
    with connect() as conn:
        first = store.add_facts(conn, "science_en", "english", [{"claim": claim, "source_title": "A"}])
        again = store.add_facts(
            conn,
            "science_en",
            "english",
            [
                {"claim": claim.replace("was launched", "was  launched").rstrip("."), "source_title": "B"},
                {"claim": "The Voyager 1 probe left the heliosphere in 2012.", "source_title": "B"},
            ],
        )
        other = store.add_facts(conn, "historia_ptbr", "portuguese", [{"claim": claim, "source_title": "C"}])
    assert len(first.new_ids) == 1 and again.duplicates == 1 and len(again.new_ids) == 1
    assert len(other.new_ids) == 1  # the same sentence in another channel is that channel's own fact
    pid = start.run("science_en", "The Apollo 11 Moon landing", "run1")
    runner.run("knowledge", pid)
    pid2 = start.run("science_en", "Apollo 11 Moon landing crew", "run2")
    runner.run("knowledge", pid2)
    with connect() as conn:
        usage = {r["production_id"]: r for r in conn.execute("SELECT * FROM knowledge_usage")}
        rate = store.reuse_rate(conn, "science_en")
    assert usage[pid]["facts_new"] > 0 and usage[pid]["facts_reused"] == 0
    assert usage[pid2]["facts_new"] == 0 and usage[pid2]["facts_reused"] > 0
    assert 0 < rate < 1


def test_similar_topics_are_refused_and_suggestions_skip_them(database, data_dir, configs, capsys):
    from knowledge import topics
    from pipelines.local.cli import main as cli

    with connect() as conn:
        p = production.create(conn, "science_en", "The Apollo 11 Moon landing", "r0")
        store.record_coverage(conn, "science_en", p.topic, p.id, [])
        close = topics.similar_covered(conn, "science_en", "english", "Moon landing of Apollo 11")
        assert [c.topic for c in close] == ["The Apollo 11 Moon landing"] and close[0].similarity >= 0.5
        assert topics.similar_covered(conn, "science_en", "english", "The Hubble Space Telescope") == []
        assert topics.similar_covered(conn, "historia_ptbr", "portuguese", "Apollo 11 Moon landing") == []
    with pytest.raises(start.RepeatedTopic, match="production .* allow_similar=true"):
        start.run("science_en", "Moon landing of Apollo 11", "r1")
    assert start.run("science_en", "Moon landing of Apollo 11", "r2", allow_similar=True) > 0
    assert cli(["topics", "suggest", "science_en"]) == 0
    out = capsys.readouterr().out
    assert "Apollo" not in out and "The Voyager probes" in out and "(in the backlog)" in out
    assert cli(["topics", "check", "science_en", "Apollo 11: the Moon landing"]) == 1
    assert "production" in capsys.readouterr().out


def test_wikipedia_fills_the_gaps_and_a_second_production_reuses_them(
    database, data_dir, configs, monkeypatch
):
    from tests.helpers.fake_research_servers import FakeWikipedia

    cfg = configs / "historia_ptbr.yaml"
    edit_yaml(cfg, {"research.providers": ["local", "wikipedia"]})
    with FakeWikipedia() as wiki:
        monkeypatch.setenv("WIKIPEDIA_BASE_URL", wiki.base_url("pt-BR"))
        first = start.run("historia_ptbr", "Júlio César", "run1", target_seconds=30)
        runner.run("knowledge", first)
        second = start.run(
            "historia_ptbr", "Júlio César e Roma", "run2", target_seconds=30, allow_similar=True
        )
        runner.run("knowledge", second)
    with connect() as conn:
        usage = {r["production_id"]: r for r in conn.execute("SELECT * FROM knowledge_usage")}
        facts = store.search_facts(conn, "historia_ptbr", "portuguese", "Júlio César")
    assert usage[first]["external_calls"] >= 1 and usage[first]["facts_new"] > 0
    assert usage[first]["providers"] == ["local", "wikipedia"]
    assert usage[second]["external_calls"] < usage[first]["external_calls"]  # knowledge first
    assert usage[second]["facts_reused"] > 0
    assert facts and all(f.source_url == "https://pt.wikipedia.org/wiki/J%C3%BAlio_C%C3%A9sar" for f in facts)
    with connect() as conn:  # a script built from a web source quotes that page's facts, in its order
        from pipelines import checkpoints

        script_cp = checkpoints.get(conn, runner.run_stage("script", first))
        cited = store.get_facts(conn, "historia_ptbr", script_cp.artifacts["fact_ids"])
    assert cited and {f.source_title for f in cited} == {"Júlio César"}


def test_conflicting_facts_are_flagged_for_the_script_review(database, data_dir, configs):
    from pipelines import review

    pid = start.run("science_en", "The Hubble Space Telescope", "run1", target_seconds=30)
    runner.run("knowledge", pid)
    with connect() as conn:
        launch = next(
            f
            for f in store.search_facts(conn, "science_en", "english", "Hubble launched 1990")
            if "1990" in f.claim
        )
        wrong = launch.claim.replace("1990", "1991")
        added = store.add_facts(
            conn,
            "science_en",
            "english",
            [{"claim": wrong, "source_title": "A careless blog", "confidence": 0.3}],
        )
        unrelated = store.add_facts(
            conn,
            "science_en",
            "english",
            [{"claim": "The Voyager 2 probe flew past Neptune in 1989.", "source_title": "B"}],
        )
    assert added.conflicts == 1 and unrelated.conflicts == 0
    cid = runner.run_stage("script", pid)
    with connect() as conn:
        flags = review.checkpoint_detail(conn, cid)["view"]["flags"]
    assert any(f"conflicts with fact {added.new_ids[0]} (A careless blog)" in f["problem"] for f in flags)
