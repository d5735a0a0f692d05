"""The six operating metrics, read from PostgreSQL at the moment they are asked for (the Operations page, its
JSON, the Prometheus `/metrics` endpoint of the plugin). Nothing is pre-aggregated: each figure is one query
over the rows that already hold it.

  1. videos published per day per channel: long-form productions marked `published` (the learnings stage,
     whatever the publish provider: outbox or YouTube), by the UTC day they were; Shorts uploaded to
     YouTube (`youtube_uploads` kind short, state published). An outbox's Shorts are files only, not counted.
  2. checkpoint wait, median and p95 per stage: `created_at` to `decided_at`; a pending checkpoint counts
     with what it has waited so far. Over the checkpoints opened in the window, plus every pending one.
  3. failed runs: productions `failed` among those created in the window, per channel.
  4. API latency p50/p95/p99 per provider: the calls pipelines.latency recorded (`api_calls`) in the window.
  5. knowledge reuse: facts the productions took from the knowledge base against those researched anew
     (`knowledge_usage`), as knowledge.store.reuse_rate.
  6. cost per video: the priced spend of `production_costs` (pipelines.costs) in the window per production
     that spent in it, as pipelines.costs.monthly counts a month.

Every function takes `channels`: None for all, else only those (what a viewer may read). "Overall" figures
are over the same channels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pipelines.db import Conn
from pipelines.stages import registry

WINDOW_DAYS = 30
CHART_DAYS = 14
ALL = ""  # the channel key of an overall figure


def _since(window_days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=window_days)


def _only(channels: list[str] | None, col: str = "channel") -> tuple[str, list[Any]]:
    return (f" AND {col} = ANY(%s)", [list(channels)]) if channels is not None else ("", [])


def _f(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


@dataclass(frozen=True)
class Quantiles:
    """A distribution's count, sum and quantiles (seconds); None quantiles when there was nothing."""

    count: int
    sum: float
    p50: float | None
    p95: float | None
    p99: float | None = None


# --- 1. published -----------------------------------------------------------------------------------------

_PUBLISHED = """
SELECT channel, 'longform' AS kind, updated_at AS at FROM productions WHERE status = 'published'
UNION ALL
SELECT channel, 'short', updated_at FROM youtube_uploads
 WHERE kind = 'short' AND state = 'published' AND video_id IS NOT NULL"""


def published_totals(conn: Conn, channels: list[str] | None = None) -> dict[tuple[str, str], int]:
    """(channel, kind) -> videos published so far (kind longform or short)."""
    where, args = _only(channels)
    rows = conn.execute(
        f"SELECT channel, kind, count(*) AS n FROM ({_PUBLISHED}) p WHERE true{where} GROUP BY channel, kind",
        args,
    )
    return {(r["channel"], r["kind"]): r["n"] for r in rows}


def published_per_day(
    conn: Conn, channels: list[str] | None = None, days: int = CHART_DAYS, today: date | None = None
) -> dict[str, list[tuple[date, int]]]:
    """Channel -> [(UTC day, videos published that day)] for the last `days` days up to today, every day
    present (zeros too); the overall series under ALL."""
    last = today or datetime.now(UTC).date()
    first = last - timedelta(days=days - 1)
    where, args = _only(channels)
    rows = conn.execute(
        f"""SELECT channel, (at AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM ({_PUBLISHED}) p
             WHERE (at AT TIME ZONE 'UTC')::date BETWEEN %s AND %s{where} GROUP BY channel, day""",
        [first, last, *args],
    )
    counts: dict[str, dict[date, int]] = {}
    for r in rows:
        counts.setdefault(r["channel"], {})[r["day"]] = r["n"]
    names = sorted(set(counts) | set(channels or []))
    span = [first + timedelta(days=i) for i in range(days)]
    out = {ch: [(d, counts.get(ch, {}).get(d, 0)) for d in span] for ch in names}
    out[ALL] = [(d, sum(counts.get(ch, {}).get(d, 0) for ch in names)) for d in span]
    return out


# --- 2. checkpoint waits ----------------------------------------------------------------------------------


def checkpoint_waits(
    conn: Conn, channels: list[str] | None = None, window_days: int = WINDOW_DAYS
) -> dict[tuple[str, str], Quantiles]:
    """(channel, stage) -> wait quantiles in seconds (p99 too), and (ALL, stage) over the channels. Pending
    checkpoints count with their wait so far."""
    where, args = _only(channels)
    rows = conn.execute(
        f"""WITH w AS (
              SELECT channel, stage, extract(epoch FROM coalesce(decided_at, now()) - created_at)::float8 AS s
                FROM checkpoints WHERE (created_at >= %s OR status = 'pending'){where})
            SELECT channel, stage, count(*) AS n, sum(s) AS total,
                   percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY s) AS q
              FROM w GROUP BY GROUPING SETS ((channel, stage), (stage))""",
        [_since(window_days), *args],
    )
    return {
        (r["channel"] or ALL, r["stage"]): Quantiles(r["n"], round(r["total"], 3), *map(_f, r["q"]))
        for r in rows
    }


def pending_checkpoints(conn: Conn, channels: list[str] | None = None) -> dict[tuple[str, str], int]:
    """(channel, stage) -> checkpoints waiting for a decision now."""
    where, args = _only(channels)
    rows = conn.execute(
        f"SELECT channel, stage, count(*) AS n FROM checkpoints WHERE status = 'pending'{where}"
        " GROUP BY channel, stage",
        args,
    )
    return {(r["channel"], r["stage"]): r["n"] for r in rows}


# --- 3. failed runs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Runs:
    """Productions created in the window, by status, and the failed share."""

    total: int
    failed: int
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def failed_ratio(self) -> float | None:
        return round(self.failed / self.total, 4) if self.total else None


def runs(conn: Conn, channels: list[str] | None = None, window_days: int = WINDOW_DAYS) -> dict[str, Runs]:
    """Channel -> its runs in the window (and ALL). A run failed if one of its tasks failed after its retries
    (it was marked needs attention), whether or not it was retried or rejected later."""
    where, args = _only(channels, "p.channel")
    rows = conn.execute(
        f"""SELECT p.channel, p.status, count(*) AS n,
                   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM attention a WHERE a.production_id = p.id)) AS failed
              FROM productions p WHERE p.created_at >= %s{where} GROUP BY p.channel, p.status""",
        [_since(window_days), *args],
    )
    by: dict[str, dict[str, int]] = {}
    failed: dict[str, int] = {}
    for r in rows:
        for ch in (r["channel"], ALL):
            by.setdefault(ch, {})[r["status"]] = by.get(ch, {}).get(r["status"], 0) + r["n"]
            failed[ch] = failed.get(ch, 0) + r["failed"]
    by.setdefault(ALL, {})
    return {ch: Runs(sum(s.values()), failed.get(ch, 0), s) for ch, s in by.items()}


# --- 4. API latency ---------------------------------------------------------------------------------------


def api_latency(
    conn: Conn, channels: list[str] | None = None, window_days: int = WINDOW_DAYS
) -> dict[tuple[str, str], Quantiles]:
    """(channel, provider) -> call latency quantiles in seconds over the window, and (ALL, provider) over
    every call (also those made outside a channel, when `channels` is None)."""
    where, args = _only(channels)
    rows = conn.execute(
        f"""SELECT channel, provider, GROUPING(channel) AS overall, count(*) AS n, sum(seconds) AS total,
                   percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY seconds) AS q
              FROM api_calls WHERE at >= %s{where}
             GROUP BY GROUPING SETS ((channel, provider), (provider))""",
        [_since(window_days), *args],
    )
    return {
        (ALL if r["overall"] else r["channel"], r["provider"]): Quantiles(
            r["n"], round(r["total"], 6), *map(_f, r["q"])
        )
        for r in rows
        if r["overall"] or r["channel"] is not None
    }


def api_calls(conn: Conn, channels: list[str] | None = None) -> dict[tuple[str, str, str], int]:
    """(channel or "", provider, outcome) -> calls recorded so far."""
    where, args = _only(channels)
    rows = conn.execute(
        f"SELECT coalesce(channel, '') AS channel, provider, outcome, count(*) AS n FROM api_calls"
        f" WHERE true{where} GROUP BY 1, 2, 3",
        args,
    )
    return {(r["channel"], r["provider"], r["outcome"]): r["n"] for r in rows}


# --- 5. knowledge reuse -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reuse:
    """Facts the productions reused from the knowledge base and facts researched anew."""

    reused: int
    new: int

    @property
    def ratio(self) -> float | None:
        total = self.reused + self.new
        return round(self.reused / total, 3) if total else None


def knowledge_reuse(conn: Conn, channels: list[str] | None = None) -> dict[str, Reuse]:
    """Channel -> its reuse (and ALL), as knowledge.store.reuse_rate counts it."""
    where, args = _only(channels)
    rows = conn.execute(
        f"SELECT channel, sum(facts_reused)::int AS r, sum(facts_new)::int AS n FROM knowledge_usage"
        f" WHERE true{where} GROUP BY channel",
        args,
    ).fetchall()
    out = {r["channel"]: Reuse(r["r"] or 0, r["n"] or 0) for r in rows}
    out[ALL] = Reuse(sum(x.reused for x in out.values()), sum(x.new for x in out.values()))
    return out


# --- 6. cost per video ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    """Priced spend in the window and the productions that spent in it."""

    videos: int
    total_usd: float
    unpriced: int = 0  # figures with no price known, left out of the total

    @property
    def per_video_usd(self) -> float | None:
        return round(self.total_usd / self.videos, 6) if self.videos else None


def cost_per_video(
    conn: Conn, channels: list[str] | None = None, window_days: int | None = WINDOW_DAYS
) -> dict[str, Cost]:
    """Channel -> its cost per video over the window (None: all time), and ALL."""
    where, args = _only(channels)
    since = _since(window_days) if window_days else datetime(1970, 1, 1, tzinfo=UTC)
    rows = conn.execute(
        f"""SELECT channel, GROUPING(channel) AS overall, count(DISTINCT production_id) AS videos,
                   coalesce(sum(cost_usd), 0)::float8 AS usd,
                   count(*) FILTER (WHERE detail->>'price' = 'unknown') AS unpriced
              FROM production_costs WHERE at >= %s{where} GROUP BY GROUPING SETS ((channel), ())""",
        [since, *args],
    )
    out = {
        (ALL if r["overall"] else r["channel"]): Cost(r["videos"], round(r["usd"], 6), r["unpriced"])
        for r in rows
    }
    out.setdefault(ALL, Cost(0, 0.0))
    return out


# --- everything, per channel and overall ------------------------------------------------------------------


def channel_names(conn: Conn) -> list[str]:
    """Channels that have productions."""
    return [r["channel"] for r in conn.execute("SELECT DISTINCT channel FROM productions ORDER BY channel")]


def _q(q: Quantiles | None) -> dict | None:
    return asdict(q) if q else None


def snapshot(
    conn: Conn,
    channels: list[str] | None = None,
    *,
    window_days: int = WINDOW_DAYS,
    days: int = CHART_DAYS,
) -> dict[str, Any]:
    """The six metrics as plain JSON-able data: `channels` (one entry per channel, then "overall"), each with
    published (total, last `days` per day), checkpoint waits per stage, runs, API latency per provider,
    knowledge reuse and cost per video; `providers` lists the providers seen."""
    names = sorted(set(channel_names(conn)) & set(channels)) if channels is not None else channel_names(conn)
    scope = channels if channels is not None else None
    totals = published_totals(conn, scope)
    per_day = published_per_day(conn, names if scope is not None else None, days)
    waits, pend = checkpoint_waits(conn, scope, window_days), pending_checkpoints(conn, scope)
    run, lat = runs(conn, scope, window_days), api_latency(conn, scope, window_days)
    reuse, cost = knowledge_reuse(conn, scope), cost_per_video(conn, scope, window_days)
    providers = sorted({p for _, p in lat})

    def one(ch: str) -> dict[str, Any]:
        sel = names if ch == ALL else [ch]
        r, c, k = run.get(ch, Runs(0, 0)), cost.get(ch, Cost(0, 0.0)), reuse.get(ch, Reuse(0, 0))
        return {
            "channel": ch or "overall",
            "published": {
                "longform": sum(totals.get((x, "longform"), 0) for x in sel),
                "short": sum(totals.get((x, "short"), 0) for x in sel),
                "per_day": [{"day": d.isoformat(), "videos": n} for d, n in per_day.get(ch, [])],
            },
            "checkpoint_waits": {
                s: {
                    **(_q(waits.get((ch, s))) or {"count": 0}),
                    "pending": sum(pend.get((x, s), 0) for x in sel),
                }
                for s in registry.CHECKPOINTS
            },
            "runs": {**asdict(r), "failed_ratio": r.failed_ratio},
            "api_latency": {p: _q(lat[(ch, p)]) for p in providers if (ch, p) in lat},
            "knowledge_reuse": {**asdict(k), "ratio": k.ratio},
            "cost_per_video": {**asdict(c), "per_video_usd": c.per_video_usd},
        }

    return {
        "as_of": datetime.now(UTC).isoformat(),
        "window_days": window_days,
        "chart_days": days,
        "providers": providers,
        "channels": [one(ch) for ch in names] + [one(ALL)],
    }
