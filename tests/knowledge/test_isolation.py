"""Channel isolation enforced by PostgreSQL: a connection opened for one channel sees and writes that
channel's rows only, whatever its queries say, and keeps the full-text index plan."""

import psycopg
import pytest

from knowledge import store, topics
from knowledge.query import query
from pipelines import production
from pipelines.db import connect

APOLLO_EN = {"claim": "The Apollo 11 mission landed on the Moon in July 1969.", "source_title": "en-doc"}
APOLLO_PT = {"claim": "A missão Apollo 11 pousou na Lua em julho de 1969.", "source_title": "pt-doc"}


@pytest.fixture
def two_channels(database, data_dir, configs):
    """Both sample channels hold facts, coverage and a learning about the same topic."""
    with connect() as conn:
        ids = {}
        for channel, lang, fact in (
            ("science_en", "english", APOLLO_EN),
            ("historia_ptbr", "portuguese", APOLLO_PT),
        ):
            p = production.create(conn, channel, "Apollo 11", f"run-{channel}", None)
            ids[channel] = store.add_facts(conn, channel, lang, [fact]).new_ids
            store.record_coverage(conn, channel, "Apollo 11", p.id, ids[channel])
            store.add_learning(conn, channel, p.id, "review:script", f"{channel}: keep the opening short")
    return ids


TABLES = ["facts", "coverage", "learnings", "productions"]


def test_a_channel_connection_sees_only_its_own_rows_even_without_a_filter(two_channels):
    with production.channel_db("science_en") as conn:
        for table in TABLES:  # no WHERE channel = ... at all
            assert {r["channel"] for r in conn.execute(f"SELECT channel FROM {table}")} == {"science_en"}, (
                table
            )
        # naming the other channel, or its fact ids, finds nothing
        assert store.search_facts(conn, "historia_ptbr", "portuguese", "Apollo 11") == []
        assert store.get_facts(conn, "historia_ptbr", two_channels["historia_ptbr"]) == []
        assert (
            conn.execute(
                "SELECT count(*) AS n FROM facts WHERE id = ANY(%s)", (two_channels["historia_ptbr"],)
            ).fetchone()["n"]
            == 0
        )
        assert store.recent_learnings(conn, "historia_ptbr") == []
        assert [c.topic for c in topics.similar_covered(conn, "science_en", "english", "Apollo 11")] == [
            "Apollo 11"
        ]
        assert topics.similar_covered(conn, "historia_ptbr", "portuguese", "Apollo 11") == []
        en = query(conn, "science_en", "english", "Apollo 11 Moon landing", needed=1)
        assert [f.source_title for f in en.facts] == ["en-doc"]
        conn.commit()  # the channel stays entered after a commit
        assert {r["channel"] for r in conn.execute("SELECT channel FROM facts")} == {"science_en"}


def test_another_channels_rows_cannot_be_written_or_reached_through_the_tables(two_channels):
    other = two_channels["historia_ptbr"][0]
    with production.channel_db("science_en") as conn:
        assert conn.execute("UPDATE facts SET confidence = 0.1 WHERE id = %s", (other,)).rowcount == 0
        assert conn.execute("DELETE FROM learnings WHERE channel = 'historia_ptbr'").rowcount == 0
        with pytest.raises(psycopg.errors.WithCheckOptionViolation):
            store.add_facts(
                conn,
                "historia_ptbr",
                "portuguese",
                [{"claim": "Um fato escrito pelo canal errado.", "source_title": "x"}],
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the tables themselves are out of reach
            conn.execute("SELECT count(*) FROM nicheflow.facts")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM nicheflow.checkpoint_events")
    with connect() as conn:  # nothing changed on the other channel
        row = conn.execute("SELECT confidence FROM facts WHERE id = %s", (other,)).fetchone()
        assert row["confidence"] == pytest.approx(0.9)
        assert (
            conn.execute("SELECT count(*) AS n FROM facts WHERE channel = 'historia_ptbr'").fetchone()["n"]
            == 1
        )
        assert conn.execute("SELECT count(*) AS n FROM learnings").fetchone()["n"] == 2


def test_a_channel_role_without_a_channel_sees_nothing(two_channels):
    with connect() as conn:
        conn.execute("SET ROLE nicheflow_channel")
        conn.execute("SET search_path = nicheflow_channel, nicheflow, public")
        assert conn.execute("SELECT count(*) AS n FROM facts").fetchone()["n"] == 0


def test_a_channel_writes_its_own_rows(two_channels):
    with production.channel_db("science_en") as conn:
        added = store.add_facts(
            conn,
            "science_en",
            "english",
            [{"claim": "Apollo 11 returned to Earth on July 24, 1969.", "source_title": "en-doc-2"}],
        )
        assert len(added.new_ids) == 1
    with connect() as conn:
        assert (
            conn.execute("SELECT channel FROM facts WHERE id = %s", added.new_ids).fetchone()["channel"]
            == "science_en"
        )


def test_isolation_keeps_the_channels_full_text_index(two_channels):
    """Row-level security would hide the index behind its policy (`@@` is not leakproof); the views do not."""
    with connect() as conn:
        with conn.cursor().copy(
            "COPY facts (channel, language, claim, source_title, confidence) FROM STDIN"
        ) as cp:
            for i in range(5000):
                cp.write_row(
                    ("science_en", "english", f"Generated filler sentence number {i} about orbits.", "g", 0.5)
                )
        store.ensure_channel_index(conn, "science_en")
        conn.execute("ANALYZE facts")
    search = """EXPLAIN SELECT id FROM facts WHERE channel = 'science_en'
                  AND search @@ plainto_tsquery('english', 'Apollo')"""
    with connect() as conn:
        unscoped = "\n".join(r["QUERY PLAN"] for r in conn.execute(search))
    with production.channel_db("science_en") as conn:
        scoped = "\n".join(r["QUERY PLAN"] for r in conn.execute(search))
    assert "Bitmap Index Scan on facts_search_science_en" in unscoped, unscoped
    assert "Bitmap Index Scan on facts_search_science_en" in scoped, scoped


def test_a_production_connection_enters_the_productions_channel(two_channels):
    with connect() as conn:
        pid = conn.execute("SELECT id FROM productions WHERE channel = 'historia_ptbr'").fetchone()["id"]
    with production.production_db(pid) as (conn, p):
        row = conn.execute(
            "SELECT current_user AS role, current_setting('nicheflow.channel') AS channel"
        ).fetchone()
        assert (p.channel, row["role"], row["channel"]) == (
            "historia_ptbr",
            "nicheflow_channel",
            "historia_ptbr",
        )
        assert [f.source_title for f in store.search_facts(conn, p.channel, "portuguese", "Apollo 11")] == [
            "pt-doc"
        ]
