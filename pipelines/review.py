"""What a reviewer sees and does at a checkpoint: the per-stage view, approve-with-edits, reopen, and the
channels' operating state. Used by the Review page and REST API (plugins/) and the CLI."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from knowledge import store
from pipelines import checkpoints, production
from pipelines.checkpoints import Checkpoint, CheckpointError, CheckpointNotFound
from pipelines.production import Production, read_json, write_json

_LIST = """SELECT c.id, c.channel, c.production_id, p.topic, c.stage, c.revision, c.status, c.created_at,
                  c.reviewer, c.decided_at, c.notes, c.reminders, p.status = 'stalled' AND c.status = 'pending' AS stalled,
                  extract(epoch FROM coalesce(c.decided_at, now()) - c.created_at) AS waiting_seconds
             FROM checkpoints c JOIN productions p ON p.id = c.production_id"""


def list_checkpoints(
    conn: psycopg.Connection,
    *,
    channel: str | None = None,
    stage: str | None = None,
    status: str | None = "pending",
    checkpoint_id: int | None = None,
    limit: int = 500,
) -> list[dict]:
    """Oldest first for pending ones (the longest wait on top); newest first otherwise."""
    where, args = [], []
    for col, val in (
        ("c.channel", channel),
        ("c.stage", stage),
        ("c.status", status),
        ("c.id", checkpoint_id),
    ):
        if val:
            where.append(f"{col} = %s")
            args.append(val)
    order = "c.created_at, c.id" if status == "pending" else "c.created_at DESC, c.id DESC"
    sql = _LIST + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order} LIMIT %s"
    return [{**r, "waiting_seconds": float(r["waiting_seconds"])} for r in conn.execute(sql, [*args, limit])]


def channels(conn: psycopg.Connection) -> list[str]:
    return [r["channel"] for r in conn.execute("SELECT DISTINCT channel FROM productions ORDER BY channel")]


def checkpoint_detail(conn: psycopg.Connection, checkpoint_id: int) -> dict:
    cp = checkpoints.get(conn, checkpoint_id)
    row = list_checkpoints(conn, status=None, checkpoint_id=cp.id)[0]
    prod = conn.execute(
        "SELECT id, channel, topic, status, dag_run_id, workspace FROM productions WHERE id = %s",
        (cp.production_id,),
    ).fetchone()
    revisions = conn.execute(
        """SELECT id, revision, status, reviewer, notes, created_at, decided_at FROM checkpoints
            WHERE production_id = %s AND stage = %s ORDER BY revision""",
        (cp.production_id, cp.stage),
    ).fetchall()
    p = production.load(conn, cp.production_id)
    return {
        "checkpoint": {**row, "artifacts": cp.artifacts, "edits": cp.edits},
        "production": prod,
        "revisions": revisions,
        "events": checkpoints.events(conn, cp.id),
        "view": _VIEWS[cp.stage](conn, p, cp),
    }


def _script_view(conn: psycopg.Connection, p: Production, cp: Checkpoint) -> dict:
    script = read_json(p.abs(cp.artifacts["script"]))
    ids = [i for seg in script["segments"] for s in seg["sentences"] for i in s["fact_ids"]]
    facts = {f.id: f for f in store.get_facts(conn, p.channel, ids)}
    segments = [
        {
            "index": i,
            "heading": seg["heading"],
            "visual_cue": seg.get("visual_cue", ""),
            "sentences": [
                {
                    "index": j,
                    "text": s["text"],
                    "fact_ids": s["fact_ids"],
                    "edited": s.get("edited", False),
                    "fact_id": (s["fact_ids"] or [None])[0],
                    "fact": _fact(facts.get((s["fact_ids"] or [None])[0])),
                    "facts": [_fact(facts.get(k)) for k in s["fact_ids"]],
                }
                for j, s in enumerate(seg["sentences"])
            ],
        }
        for i, seg in enumerate(script["segments"])
    ]
    # grounding flags count segments without the spoken hook; the page shows them by stored segment
    flags = [
        {**f, "segment": 0 if f["segment"] is None else f["segment"] + 1, "sentence": f["sentence"] or 0}
        for f in script.get("grounding_flags", [])
    ]
    conflicts = store.conflicts_of(conn, p.channel, ids)
    for seg in segments:
        for s in seg["sentences"]:
            for k in s["fact_ids"]:
                flags += [
                    {
                        "segment": seg["index"],
                        "sentence": s["index"],
                        "text": s["text"],
                        "problem": f"fact {k} conflicts with fact {c.id} ({c.source_title}): \u201c{c.claim}\u201d",
                    }
                    for c in conflicts.get(k, [])
                ]
    used = conn.execute("SELECT questions FROM knowledge_usage WHERE production_id = %s", (p.id,)).fetchone()
    return {
        "title": script["title"],
        "writer": script["writer"],
        "disclosure": script["disclosure"],
        "review_notes": script.get("review_notes"),
        "segments": segments,
        "flags": flags,
        "usage": script.get("usage"),
        "questions": used["questions"] if used else [],
    }


def _fact(f: store.Fact | None) -> dict | None:
    return f and {
        "id": f.id,
        "claim": f.claim,
        "source_title": f.source_title,
        "source_url": f.source_url,
        "source_path": f.source_path,
    }


def _approved_script(conn: psycopg.Connection, p: Production) -> dict:
    return read_json(p.abs(checkpoints.approved(conn, p.id, "script").artifacts["script"]))


def audio_flags(timings: dict, target_seconds: int, qa: dict | None = None) -> list[str]:
    """Problems a listener would notice: speech too fast or slow, silent segments, length far off target, and
    (audio QA) segments where Whisper heard something else than the script. Segments are numbered from 1, as
    on the page."""
    flags = []
    for span in timings["segments"]:
        words = [w for w in timings["words"] if w["segment"] == span["segment"]]
        dur = span["end"] - span["start"]
        if not words:
            flags.append(f"segment {span['segment'] + 1}: no speech detected")
        elif dur > 0 and not 1.5 <= len(words) / dur <= 4.5:
            flags.append(f"segment {span['segment'] + 1}: {len(words) / dur:.1f} words/s (expected 1.5-4.5)")
    if abs(timings["duration"] - target_seconds) > 0.25 * target_seconds:
        flags.append(f"length {timings['duration']:.0f} s is more than 25% off the {target_seconds} s target")
    if qa and qa["status"] == "skipped":
        flags.append(f"audio QA skipped: {qa['reason']}")
    flags += [
        f"segment {s['segment'] + 1}: heard differs from the script (WER {s['wer']:.2f} > {qa['max_wer']:.2f}): "
        f"{s['diff']}"
        for s in (qa or {}).get("segments", [])
        if s["flagged"]
    ]
    return flags


def _audio_view(conn: psycopg.Connection, p: Production, cp: Checkpoint) -> dict:
    timings = read_json(p.abs(cp.artifacts["timings"]))
    script = _approved_script(conn, p)
    qa = cp.artifacts.get("qa")
    heard = {s["segment"]: s for s in (qa or {}).get("segments", [])}
    segments = [
        {
            "index": s["segment"],
            "heading": script["segments"][s["segment"]]["heading"],
            "text": " ".join(x["text"] for x in script["segments"][s["segment"]]["sentences"]),
            "file": s["file"],
            "start": s["start"],
            "end": s["end"],
            "duration": round(s["end"] - s["start"], 2),
            "words": sum(1 for w in timings["words"] if w["segment"] == s["segment"]),
            "qa": heard.get(s["segment"]),
        }
        for s in timings["segments"]
    ]
    return {
        "narration": cp.artifacts["narration"],
        "duration": timings["duration"],
        "voice": timings["voice"],
        "segments": segments,
        "flags": audio_flags(timings, p.target_seconds, qa),
        "qa": qa,
    }


def _broll_view(conn: psycopg.Connection, p: Production, cp: Checkpoint) -> dict:
    manifest = read_json(p.abs(cp.artifacts["visuals"]))
    script = _approved_script(conn, p)
    segments = []
    for i, opts in enumerate(manifest["options"]):
        chosen = next((k for k, o in enumerate(opts) if o["path"] == manifest["visuals"][i]["path"]), 0)
        seg = script["segments"][i]
        segments.append(
            {
                "index": i,
                "heading": seg["heading"],
                "chosen": chosen,
                "text": " ".join(s["text"] for s in seg["sentences"]),
                "options": [
                    {
                        k: o.get(k)
                        for k in (
                            "path",
                            "kind",
                            "source",
                            "licence",
                            "attribution",
                            "url",
                            "description",
                            "width",
                            "height",
                            "duration",
                        )
                    }
                    for o in opts
                ],
            }
        )
    return {"provider": manifest["provider"], "segments": segments}


def _final_view(conn: psycopg.Connection, p: Production, cp: Checkpoint) -> dict:
    from pipelines.providers.publish_outbox import OutboxPublisher
    from pipelines.publish import draft, next_slot

    render = read_json(p.abs(cp.artifacts["render"]))
    audio = checkpoints.approved(conn, p.id, "audio").artifacts
    visuals = read_json(p.abs(checkpoints.approved(conn, p.id, "broll").artifacts["visuals"]))["visuals"]
    proposed = {
        **draft(p, _approved_script(conn, p), render, audio["voice"], visuals),
        "thumbnail": render.get("thumbnail", 0),
        **cp.artifacts.get("overrides", {}),
    }
    cfg = p.cfg
    publish_at = next_slot(cfg.timezone, cfg.publish.time, OutboxPublisher(p.channel).taken_slots())
    return {
        "video": cp.artifacts["video"],
        "duration": cp.artifacts["duration"],
        "thumbnails": cp.artifacts["thumbnails"],
        "chapters": render["chapters"],
        "publish_at": publish_at.isoformat(),
        **proposed,
    }


_VIEWS = {"script": _script_view, "audio": _audio_view, "broll": _broll_view, "final": _final_view}


def _apply_edits(conn: psycopg.Connection, p: Production, cp: Checkpoint, edits: dict) -> dict:
    """The artifacts that continue after "approve with edits"; the originals are kept under `_original`."""
    art = {**cp.artifacts, "_original": cp.artifacts}
    if cp.stage == "script":
        script = read_json(p.abs(cp.artifacts["script"]))
        for key, text in _expect(edits, "sentences", dict).items():
            seg, sent = _index(key, script["segments"])
            if not str(text).strip():
                raise CheckpointError(
                    f"edits.sentences[{key!r}]: empty text; to drop a sentence, request changes"
                )
            s = script["segments"][seg]["sentences"][sent]
            s.setdefault("original", s["text"])
            s.update(text=" ".join(str(text).split()), edited=True)
        path = p.abs(cp.artifacts["script"]).with_name("script.edited.json")
        art["script"] = p.rel(write_json(path, script))
    elif cp.stage == "broll":
        from pipelines.broll import choose

        manifest = read_json(p.abs(cp.artifacts["visuals"]))
        choices = {}
        for key, k in _expect(edits, "choices", dict).items():
            seg = int(key) if str(key).isdigit() else -1
            if (
                not 0 <= seg < len(manifest["options"])
                or not isinstance(k, int)
                or not 0 <= k < len(manifest["options"][seg])
            ):
                raise CheckpointError(f"edits.choices[{key!r}] = {k!r}: no such segment or option")
            choices[seg] = k
        art["visuals"] = choose(p, cp.artifacts["visuals"], choices)
    elif cp.stage == "final":
        unknown = set(edits) - {"title", "description", "tags", "thumbnail"}
        if unknown:
            raise CheckpointError(
                f"edits: unknown fields {sorted(unknown)}; allowed: title, description, tags, thumbnail"
            )
        if "thumbnail" in edits and edits["thumbnail"] not in range(len(cp.artifacts["thumbnails"])):
            raise CheckpointError(f"edits.thumbnail: choose 0-{len(cp.artifacts['thumbnails']) - 1}")
        if "title" in edits and not 0 < len(str(edits["title"]).strip()) <= 100:
            raise CheckpointError("edits.title: 1-100 characters (YouTube's limit)")
        if "tags" in edits and not (
            isinstance(edits["tags"], list) and all(isinstance(t, str) for t in edits["tags"])
        ):
            raise CheckpointError("edits.tags: a list of strings")
        art["overrides"] = {**cp.artifacts.get("overrides", {}), **edits}
    else:
        raise CheckpointError(f"the {cp.stage} checkpoint takes no edits: approve, request changes or reject")
    return art


def _expect(edits: dict, key: str, kind: type):
    value = edits.get(key)
    if not isinstance(value, kind) or not value or set(edits) != {key}:
        raise CheckpointError(f"edits: expected {{{key!r}: {kind.__name__}}}, got {sorted(edits)}")
    return value


def _index(key: str, segments: list[dict]) -> tuple[int, int]:
    try:
        seg, sent = (int(x) for x in str(key).split("."))
        segments[seg]["sentences"][sent]
        if seg < 0 or sent < 0:
            raise IndexError
    except (ValueError, IndexError):
        raise CheckpointError(
            f"edits.sentences: {key!r} is not a '<segment>.<sentence>' of this script"
        ) from None
    return seg, sent


def decide(
    conn: psycopg.Connection,
    checkpoint_id: int,
    decision: str,
    reviewer: str,
    notes: str | None = None,
    edits: dict | None = None,
) -> Checkpoint:
    """Decide once; with edits, the edited artifacts are what the production continues with."""
    artifacts = None
    if edits:
        cp = checkpoints.lock_pending(
            conn, checkpoint_id
        )  # concurrent deciders wait here, then get AlreadyDecided
        if decision != "approved":
            raise CheckpointError(
                "edits go with an approval; to have the stage redo its work, request changes"
            )
        artifacts = _apply_edits(conn, production.load(conn, cp.production_id), cp, edits)
    return checkpoints.decide(
        conn, checkpoint_id, decision, reviewer, notes, edits=edits, artifacts=artifacts
    )


def reopen(conn: psycopg.Connection, checkpoint_id: int, admin: str) -> Checkpoint:
    return checkpoints.reopen(conn, checkpoint_id, admin)


def media_file(conn: psycopg.Connection, production_id: int, rel_path: str) -> Path:
    p = (
        production.load(conn, production_id)
        if conn.execute("SELECT 1 FROM productions WHERE id = %s", (production_id,)).fetchone()
        else None
    )
    if p is None:
        raise CheckpointNotFound(f"no production {production_id}")
    path = (p.workspace / rel_path).resolve()
    if not path.is_relative_to(p.workspace.resolve()):
        raise CheckpointError(f"{rel_path!r} is outside the production's workspace")
    if not path.is_file():
        raise CheckpointNotFound(f"production {production_id} has no file {rel_path!r}")
    return path


def channel_state(conn: psycopg.Connection) -> list[dict]:
    """Per channel: productions in flight by the stage they wait at, stalled ones, checkpoint waits, and its
    knowledge: current facts and the reuse rate (share of the facts its productions used that it already had)."""
    out = []
    for ch in channels(conn):
        counts = {
            r["status"]: r["n"]
            for r in conn.execute(
                "SELECT status, count(*) AS n FROM productions WHERE channel = %s GROUP BY status", (ch,)
            )
        }
        waiting = {
            r["stage"]: r["n"]
            for r in conn.execute(
                """SELECT c.stage, count(*) AS n FROM checkpoints c JOIN productions p ON p.id = c.production_id
                WHERE c.channel = %s AND c.status = 'pending' AND p.status IN ('running', 'stalled')
                GROUP BY c.stage""",
                (ch,),
            )
        }
        in_flight = counts.get("running", 0) + counts.get("stalled", 0)
        waits = [
            r["s"]
            for r in conn.execute(
                "SELECT extract(epoch FROM coalesce(decided_at, now()) - created_at)::float AS s FROM checkpoints "
                "WHERE channel = %s",
                (ch,),
            )
        ]
        out.append(
            {
                "channel": ch,
                "in_flight": {
                    **{s: waiting.get(s, 0) for s in checkpoints.STAGES},
                    "working": in_flight - sum(waiting.values()),
                },
                "stalled": counts.get("stalled", 0),
                "pending": sum(waiting.values()),
                "published": counts.get("published", 0),
                "rejected": counts.get("rejected", 0),
                "wait_median_s": statistics.median(waits) if waits else None,
                "wait_longest_s": max(waits) if waits else None,
                "facts": store.fact_count(conn, ch),
                "knowledge_reuse": store.reuse_rate(conn, ch),
                "as_of": datetime.now(UTC).isoformat(),
            }
        )
    return out
