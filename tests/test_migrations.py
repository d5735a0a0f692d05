import psycopg
import pytest

from pipelines import checkpoints, db


def test_migrations_apply_once_and_create_the_schema(pg_server):
    with db.connect(pg_server) as conn:
        conn.execute("DROP SCHEMA IF EXISTS nicheflow CASCADE")
    assert db.migrate(pg_server) == sorted(p.name for p in db.MIGRATIONS.glob("*.sql"))
    assert db.migrate(pg_server) == []
    with db.connect(pg_server) as conn:
        tables = {
            r["table_name"]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'nicheflow'"
            )
        }
    assert {"productions", "checkpoints", "facts", "coverage", "learnings", "schema_migrations"} <= tables


def test_schema_rejects_impossible_rows(database):
    with db.connect(database) as conn:
        pid = conn.execute(
            "INSERT INTO productions (channel, topic, dag_run_id, workspace) "
            "VALUES ('a', 't', 'r', '/w') RETURNING id"
        ).fetchone()["id"]
    with (
        pytest.raises(checkpoints.CheckpointError, match="unknown stage 'music'"),
        db.connect(database) as conn,
    ):
        checkpoints.open_checkpoint(conn, pid, "a", "music", 1, {})  # the stage registry says which exist
    with pytest.raises(psycopg.errors.CheckViolation), db.connect(database) as conn:
        # a decision without a time is not a decision
        conn.execute(
            "INSERT INTO checkpoints (production_id, channel, stage, revision, status) "
            "VALUES (%s, 'a', 'script', 1, 'approved')",
            (pid,),
        )
