"""A topic is broken into the questions a video must answer; stored facts are scored against each, and
only open questions go to external research — once per channel."""

from __future__ import annotations

from knowledge import store
from knowledge.questions import score_questions
from knowledge.store import Fact
from knowledge.text import entities
from pipelines import production
from pipelines.db import connect
from pipelines.stages import runner, start
from tests.helpers import edit_yaml


def _facts(*claims: str) -> list[Fact]:
    return [Fact(i, c, "src", None, None, i) for i, c in enumerate(claims, start=1)]


def test_each_question_is_answered_by_the_facts_that_answer_it_in_english():
    facts = _facts(
        "The Hubble Space Telescope is a space telescope in low Earth orbit.",  # what
        "Hubble was launched on April 24, 1990.",  # when
        "The telescope is named after the astronomer Edwin Hubble.",  # who (not the topic's own name)
        "It was carried into orbit by the Space Shuttle Discovery.",  # how (carried, by)
        "Hubble made the first precise measurement of the universe's expansion.",  # why (first)
        "Hubble is still in operation today.",  # after
    )
    scored = {q.key: q for q in score_questions("The Hubble Space Telescope", "english", facts)}
    assert list(scored) == ["what", "when", "who", "how", "why", "after"]
    assert scored["what"].question == "What is The Hubble Space Telescope?"
    assert 1 in scored["what"].fact_ids and 6 not in scored["what"].fact_ids
    assert scored["when"].fact_ids == [2]
    assert 3 in scored["who"].fact_ids and 2 not in scored["who"].fact_ids  # "Hubble" alone is the topic
    assert 4 in scored["how"].fact_ids
    assert 5 in scored["why"].fact_ids
    assert 6 in scored["after"].fact_ids
    assert scored["when"].score == 0.5 and scored["who"].score >= 0.5  # two answering facts make 1.0


def test_questions_are_asked_in_portuguese_for_a_portuguese_channel():
    facts = _facts(
        "A Independência do Brasil foi proclamada por D. Pedro em 7 de setembro de 1822.",
        "Portugal só reconheceu a independência brasileira em 1825.",
    )
    scored = {q.key: q for q in score_questions("Independência do Brasil", "portuguese", facts)}
    assert scored["what"].question == "O que é Independência do Brasil?" and scored["what"].fact_ids == [1]
    assert scored["when"].fact_ids == [1, 2] and scored["when"].score == 1.0
    assert scored["who"].fact_ids == [1]  # Pedro; "Portugal" opens its sentence and is no person
    assert scored["why"].fact_ids == [] and scored["why"].research == "Independência do Brasil importância"


def test_entities_are_names_and_years_not_sentence_openers():
    assert entities("Neil Armstrong walked on the Moon in 1969.") == ["Neil Armstrong", "Moon", "1969"]
    assert entities("The Apollo 11 crew landed in the Sea of Tranquility.") == [
        "Apollo 11",
        "Sea of Tranquility",
    ]
    assert entities("Em 1500, Pedro Álvares Cabral chegou ao Brasil.") == [
        "Pedro Álvares Cabral",
        "Brasil",
        "1500",
    ]
    assert entities("Júlio César cruzou o Rubicão em 49 a.C.") == ["Júlio César", "Rubicão"]


def test_open_questions_go_to_research_once_per_channel(database, data_dir, configs, monkeypatch):
    from tests.helpers.fake_research_servers import FakeWikipedia

    cfg = configs / "historia_ptbr.yaml"
    edit_yaml(cfg, {"research.providers": ["local", "wikipedia"]})
    with FakeWikipedia() as wiki:
        monkeypatch.setenv("WIKIPEDIA_BASE_URL", wiki.base_url("pt-BR"))
        first = start.run("historia_ptbr", "Júlio César", "run1", target_seconds=30)
        runner.run("knowledge", first)
        searched_first = [r.query["srsearch"] for r in wiki.requests if r.query.get("list") == "search"]
        again = start.run("historia_ptbr", "Júlio César", "run2", target_seconds=30, allow_similar=True)
        runner.run("knowledge", again)
        searched_after = [r.query["srsearch"] for r in wiki.requests if r.query.get("list") == "search"]
    with connect() as conn:
        usage = {r["production_id"]: r for r in conn.execute("SELECT * FROM knowledge_usage")}
        log = conn.execute(
            "SELECT provider, query, question, new_facts FROM research_log ORDER BY id"
        ).fetchall()
        stored = store.search_facts(conn, "historia_ptbr", "portuguese", "Júlio César")
    # the topic first, then the first question the stored facts still don't answer, with its research words
    assert searched_first[0] == "Júlio César"
    assert searched_first[1] == "Júlio César visão geral"
    assert len(searched_first) == usage[first]["external_calls"] <= 4
    assert log[0]["query"] == "Júlio César" and log[0]["question"] is None and log[0]["new_facts"] > 0
    assert log[1]["question"] == "what" and sum(x["new_facts"] for x in log) == usage[first]["facts_new"]
    # per-question scores are recorded with the production, in the channel's language
    questions = {q["key"]: q for q in usage[first]["questions"]}
    assert questions["who"]["question"] == "Quem participou?" and questions["who"]["score"] > 0
    assert set(questions["who"]["fact_ids"]) <= {f.id for f in stored}
    # the script review shows the reviewer the questions and what answers them
    with connect() as conn:
        from pipelines import review

        view = review.checkpoint_detail(conn, runner.run_stage("script", first))["view"]
    assert [q["question"] for q in view["questions"]][:2] == [
        "O que é Júlio César?",
        "Quando aconteceu, e em que ordem?",
    ]
    # no query is sent twice for this channel: the second production reuses the facts and asks only
    # a question nobody asked yet
    assert searched_after[: len(searched_first)] == searched_first
    assert len(set(searched_after)) == len(searched_after)
    assert (
        usage[again]["external_calls"] < usage[first]["external_calls"] and usage[again]["facts_reused"] > 0
    )


def test_no_external_calls_beyond_the_channel_budget(database, data_dir, configs, monkeypatch):
    from tests.helpers.fake_research_servers import FakeWikipedia

    cfg = configs / "historia_ptbr.yaml"
    edit_yaml(cfg, {"research.providers": ["wikipedia"], "research.max_external_calls": 0})
    with FakeWikipedia() as wiki:
        monkeypatch.setenv("WIKIPEDIA_BASE_URL", wiki.base_url("pt-BR"))
        pid = start.run("historia_ptbr", "Júlio César", "run1", target_seconds=30)
        runner.run("knowledge", pid)
    assert wiki.requests == []


def test_a_channel_gets_its_own_search_index_when_it_is_first_opened(database, data_dir, configs):
    for channel, lang, claim in (
        ("science_en", "english", "The Moon is about 384,400 km from Earth."),
        ("historia_ptbr", "portuguese", "Roma foi fundada, diz a lenda, em 753 a.C."),
    ):
        with production.channel_db(channel) as conn:
            store.add_facts(conn, channel, lang, [{"claim": claim, "source_title": "t"}])
    with connect() as conn:
        indexes = {
            r["indexname"]: r["indexdef"]
            for r in conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'facts' AND indexname LIKE 'facts_search_%'"
            )
        }
        found = store.search_facts(conn, "historia_ptbr", "portuguese", "Roma")
    assert "WHERE (channel = 'science_en'::text)" in indexes["facts_search_science_en"]
    assert "facts_search_historia_ptbr" in indexes
    assert [f.claim for f in found] == ["Roma foi fundada, diz a lenda, em 753 a.C."]
