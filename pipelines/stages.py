"""The stage entry points that Airflow tasks call: each opens its own connection, entered into the channel it
works for (PostgreSQL then shows it no other channel's rows), takes and returns small JSON-able values (ids,
relative paths), and is safe to retry (nothing done twice)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from knowledge import store, topics
from pipelines import checkpoints, production
from pipelines.config import get_config
from pipelines.db import connect
from pipelines.research import query_knowledge, research_gaps
from pipelines.script import write_script

log = logging.getLogger(__name__)


@contextmanager
def channel_db(channel: str) -> Iterator[psycopg.Connection]:
    """A connection entered into the channel (knowledge.store.open_channel): it sees only its rows."""
    with connect() as conn:
        store.open_channel(conn, channel)
        yield conn


@contextmanager
def production_db(production_id: int) -> Iterator[tuple[psycopg.Connection, production.Production]]:
    """The production and a connection entered into its channel."""
    with connect() as conn:
        p = production.load(conn, production_id)
        store.open_channel(conn, p.channel)
        yield conn, p


class BacklogEmpty(ValueError):
    pass


class RepeatedTopic(ValueError):
    pass


def next_topic(channel: str) -> str:
    """The first backlog topic that is neither covered (or too close to a covered one) nor in production."""
    cfg = get_config(channel)
    with channel_db(channel) as conn:
        running = {
            r["topic"].casefold()
            for r in conn.execute(
                "SELECT topic FROM productions WHERE channel = %s AND status IN ('running', 'stalled')",
                (channel,),
            )
        }
        for topic in cfg.topics:
            if topic.casefold() not in running and not topics.similar_covered(
                conn, channel, cfg.text_search_config, topic
            ):
                return topic
    raise BacklogEmpty(
        f"channel {channel}: every backlog topic is covered or in production; add topics to "
        f"niche_configs/{channel}.yaml, see `nicheflow topics suggest {channel}`, or trigger the DAG "
        "with a topic"
    )


def start(
    channel: str,
    topic: str | None,
    dag_run_id: str,
    target_seconds: int | None = None,
    allow_similar: bool = False,
) -> int:
    if (topic or "").strip() and not allow_similar:
        with channel_db(channel) as conn:
            lang = get_config(channel).text_search_config
            close = topics.similar_covered(conn, channel, lang, topic.strip())
        if close:
            c = close[0]
            raise RepeatedTopic(
                f"channel {channel} already covered {c.topic!r} (production {c.production_id}, "
                f"{c.covered_at:%Y-%m-%d}; similarity {c.similarity:.2f}). Choose another topic, "
                "or trigger with allow_similar=true to make it anyway"
            )
    topic = (topic or "").strip() or next_topic(channel)
    with channel_db(channel) as conn:
        p = production.create(conn, channel, topic, dag_run_id, target_seconds)
    log.info("production %s for channel %s: %r in %s", p.id, channel, topic, p.workspace)
    return p.id


def knowledge_and_research(production_id: int) -> dict:
    with production_db(production_id) as (conn, p):
        report = query_knowledge(conn, p)
        result = research_gaps(conn, p, report)
    return {
        "score": report.score,
        "gaps": report.gaps,
        "new_facts": len(result["new_fact_ids"]),
        "reused_facts": len(result["reused_fact_ids"]),
        "external_calls": result["external_calls"],
        "questions": {q["key"]: q["score"] for q in result["questions_after"]},
    }


def run_stage(stage: str, production_id: int, revision: int = 1, notes: str | None = None) -> int:
    """Produce a revision of a reviewed stage and open its checkpoint. Returns the checkpoint id."""
    with production_db(production_id) as (conn, p):
        existing = checkpoints.latest(conn, p.id, stage)
        if existing and existing.revision >= revision:  # a retried task: the revision already exists
            return existing.id
        if stage == "script":
            artifacts = write_script(conn, p, revision, notes)
        else:
            script = checkpoints.approved(conn, p.id, "script").artifacts["script"]
            # media modules are imported where used: the sensor and the light stages don't pay for them
            if stage == "audio":
                from pipelines.audio import narrate
                from pipelines.audio_qa import check

                artifacts = narrate(p, script, revision, notes)
                artifacts["qa"] = check(
                    p, script, artifacts
                )  # Whisper scores each segment against the script
            elif stage == "broll":
                from pipelines.broll import gather

                timings = checkpoints.approved(conn, p.id, "audio").artifacts["timings"]
                artifacts = gather(conn, p, script, timings, revision)
            elif stage == "final":
                from pipelines.assembly import assemble

                audio = checkpoints.approved(conn, p.id, "audio").artifacts
                broll = checkpoints.approved(conn, p.id, "broll").artifacts
                artifacts = assemble(p, script, audio, broll, revision)
            else:
                raise checkpoints.CheckpointError(f"unknown stage {stage!r}")
        if notes:
            from pipelines.notes import read

            artifacts["addresses_notes"] = notes
            artifacts["notes_understood"] = list(read(notes).understood)
        cp = checkpoints.open_checkpoint(conn, p.id, p.channel, stage, revision, artifacts)
    log.info(
        "checkpoint %s open: production %s, %s revision %s — approve with `nicheflow approve %s`",
        cp.id,
        production_id,
        stage,
        revision,
        cp.id,
    )
    return cp.id


def after_decision(checkpoint_id: int) -> tuple[str, int]:
    """What a decided checkpoint means for the production: ("approved", id), ("rejected", id) or
    ("waiting", new checkpoint id) when changes were requested and a new revision is now open."""
    with connect() as conn:
        cp = checkpoints.get(conn, checkpoint_id)
        if cp.status == "rejected":
            production.set_status(conn, cp.production_id, "rejected")
            log.info(
                "production %s rejected at %s by %s: %s", cp.production_id, cp.stage, cp.reviewer, cp.notes
            )
            return "rejected", cp.id
    if cp.status == "approved":
        return "approved", cp.id
    if cp.status == "changes_requested":
        return "waiting", run_stage(cp.stage, cp.production_id, cp.revision + 1, cp.notes)
    raise checkpoints.CheckpointError(f"checkpoint {cp.id} is still {cp.status}")


def publish(production_id: int) -> dict:
    from pipelines.publish import publish_longform

    with production_db(production_id) as (conn, p):
        art = {s: checkpoints.approved(conn, p.id, s).artifacts for s in checkpoints.STAGES}
    return publish_longform(p, art["script"]["script"], art["audio"], art["broll"], art["final"])


def store_learnings(production_id: int) -> dict:
    """Coverage (topic -> sub-topics and facts used) and the lessons of this production's reviews."""
    with production_db(production_id) as (conn, p):
        script = checkpoints.approved(conn, p.id, "script").artifacts
        segments = production.read_json(p.abs(script["script"]))["segments"]
        subtopics = [seg["heading"] for seg in segments if any(s["fact_ids"] for s in seg["sentences"])]
        store.record_coverage(conn, p.channel, p.topic, p.id, script["fact_ids"], subtopics)
        conn.execute("DELETE FROM learnings WHERE production_id = %s AND kind LIKE 'review:%%'", (p.id,))
        for cp in checkpoints.history(conn, p.id):
            if cp.notes:
                store.add_learning(
                    conn,
                    p.channel,
                    p.id,
                    f"review:{cp.stage}",
                    f"{cp.status} at revision {cp.revision}: {cp.notes}",
                )
        production.set_status(conn, p.id, "published")
    return {"production_id": p.id, "channel": p.channel, "topic": p.topic}


def cut_shorts(production_id: int, channel: str) -> list[dict]:
    from pipelines.shorts import cut_shorts as cut

    with production_db(production_id) as (conn, p):
        if p.channel != channel:  # a channel's Shorts DAG only ever touches its own productions
            raise ValueError(f"production {production_id} belongs to {p.channel}, not {channel}")
        return cut(conn, p)
