"""What every video cost: LLM tokens, TTS characters, stock and research API calls, YouTube units and render
CPU-seconds, one row per (production, key) in `production_costs`, summed per production and per channel
per month.

Keys name one piece of spend: `<stage>:r<revision>:<what>` for a reviewed stage's revision ('script:r2:llm',
'audio:r1:tts', 'broll:r1:stock:pexels', 'final:r1:render'), `shorts:short-<n>:render` for a Short,
`research:<provider>` and `youtube:<api>` for figures summed from the research log and the quota ledger.

What a figure counts, and what a retry counts:
  * `record` replaces its key's figure: the key is what that revision's output cost. A stage that runs again
    for the same revision (a task cleared and run again, a retried task that had not opened its checkpoint)
    replaces its own figure, and the figures summed from a ledger are recomputed, so nothing is counted
    twice.
  * Money spent by an attempt that failed was spent all the same. Where the failure is known with its spend
    (Groq's script failing validation after its repair round, with the tokens of both calls; a render that
    ffmpeg gave up on, with the CPU it burnt; Azure failing after some segments were voiced), the stage
    records it with `record(..., failed=True)`, under `<key>:failed:<n>`, which a later attempt never
    replaces; totals include it and the summary marks it failed.
  * Not counted: an attempt that spent successfully and then failed for another reason (say the database
    going away after the render): its retry's figure replaces it. The hooks write on a connection of their
    own, committed at once as the quota ledger is (`spend`), so a figure is not lost with a stage's rolled
    back transaction; which of two attempts it came from is what is lost. Figures summed from a table the
    stage writes (the research log) and the free stock calls are written in the stage's own transaction,
    beside those rows.

Prices: Groq's cost comes with its usage (the writer's list prices); Azure's neural voices are priced by
characters at `costs.azure_tts_usd_per_million_chars` of the channel config (default
AZURE_TTS_USD_PER_MILLION_CHARS, the pay-as-you-go list price); a web search at
`costs.websearch_usd_per_thousand_calls` when set. Offline providers (espeak, Piper, the offline writer, the
local library, generated visuals, the outbox) and the free APIs (Pexels, Pixabay, Commons, Wikipedia) cost
nothing and say so: no price, shown as "free/offline". YouTube's units have no money price: quota, shown
as units. Render CPU-seconds run on the operator's own machine: no price either. A figure whose provider
has a price nobody told us (a Groq model not in its price list, a web search without its plan's price) is
"no price known": the totals leave it out and say so."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from pipelines import clock
from pipelines.db import Conn, connect, one
from pipelines.media.ffmpeg import cpu_meter

log = logging.getLogger(__name__)
KINDS = ("llm", "tts", "stock", "research", "youtube", "render")
AZURE_TTS_USD_PER_MILLION_CHARS = 15.0  # neural voices, pay-as-you-go list price (config: costs.*)
FREE = {"espeak", "piper", "offline", "local", "generated", "outbox", "pexels", "pixabay", "commons"}
FREE_RESEARCH = {"wikipedia", "local"}
PRICES = {
    "usd": "list price",
    "free": "free/offline",
    "quota": "quota units (no money price)",
    "cpu": "own CPU (no money price)",
    "unknown": "no price known",
}


def price_of(kind: str, provider: str, cost_usd: float | None) -> str:
    """How a figure is priced (a key of PRICES): in dollars, free, quota, own CPU, or unknown."""
    if cost_usd is not None:
        return "usd"
    if kind == "youtube" and provider != "outbox":
        return "quota"
    if kind == "render":
        return "cpu"
    if provider in FREE or (kind == "research" and provider in FREE_RESEARCH):
        return "free"
    return "unknown"


def record(
    conn: Conn,
    production_id: int,
    key: str,
    kind: str,
    provider: str,
    quantity: float,
    unit: str,
    cost_usd: float | None = None,
    detail: dict | None = None,
    *,
    at: datetime | None = None,
    failed: bool = False,
) -> str:
    """Set the production's figure for `key` (replacing an earlier one: see the module doc), in the
    connection's transaction. `detail` holds what else is worth showing (the model, prompt tokens, ...).
    `failed`: what an attempt that failed spent, as `<key>:failed:<n>` (the next n), kept beside the key's
    own figure and never replaced by a later attempt. Returns the key it was recorded under."""
    if kind not in KINDS:
        raise ValueError(f"cost kind {kind!r}: use one of {', '.join(KINDS)}")
    if failed:
        n = one(
            conn.execute(
                "SELECT count(*) AS n FROM production_costs WHERE production_id = %s AND key LIKE %s",
                (production_id, key.replace("%", r"\%").replace("_", r"\_") + ":failed:%"),
            )
        )["n"]
        key = f"{key}:failed:{n + 1}"
    detail = {**(detail or {}), "price": price_of(kind, provider, cost_usd)}
    row = conn.execute(
        """INSERT INTO production_costs (channel, production_id, key, kind, provider, quantity, unit,
                                         cost_usd, detail, at)
           SELECT channel, id, %s, %s, %s, %s, %s, %s, %s, %s FROM productions WHERE id = %s
           ON CONFLICT (production_id, key) DO UPDATE SET kind = EXCLUDED.kind, provider = EXCLUDED.provider,
               quantity = EXCLUDED.quantity, unit = EXCLUDED.unit, cost_usd = EXCLUDED.cost_usd,
               detail = EXCLUDED.detail, at = EXCLUDED.at
           RETURNING key""",
        (key, kind, provider, quantity, unit, cost_usd, Jsonb(detail), at or clock.now(), production_id),
    ).fetchone()
    if row is None:
        raise LookupError(f"no production {production_id}: its cost {key!r} was not recorded")
    return key


def spend(
    production_id: int,
    key: str,
    kind: str,
    provider: str,
    quantity: float,
    unit: str,
    cost_usd: float | None = None,
    detail: dict | None = None,
    *,
    failed: bool = False,
) -> str:
    """`record` on a connection of its own, committed at once: what the stages call, so
    money spent is on record even when the stage's own transaction rolls back. Returns the key. A figure
    that cannot be recorded (its production not committed yet, the database unreachable) is logged, never a
    reason to stop a video."""
    import psycopg

    try:
        with connect() as conn:
            return record(
                conn, production_id, key, kind, provider, quantity, unit, cost_usd, detail, failed=failed
            )
    except (LookupError, psycopg.OperationalError) as e:
        log.warning("cost %s of production %s not recorded: %s", key, production_id, e)
        return key


# --- the hooks' figures -----------------------------------------------------------------------------------


def llm(production_id: int, key: str, usage: dict | None, *, failed: bool = False) -> str:
    """A writer's spend from its `usage` (Groq: prompt/completion/total tokens, cost_usd, calls, model); no
    usage is the offline writer, free."""
    if not usage:
        return spend(production_id, key, "llm", "offline", 0, "tokens", detail={"writer": "offline"})
    detail = {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "calls", "model") if k in usage}
    return spend(
        production_id,
        key,
        "llm",
        "groq",
        usage.get("total_tokens", 0),
        "tokens",
        usage.get("cost_usd"),
        detail,
        failed=failed,
    )


def tts(
    production_id: int,
    key: str,
    provider: str,
    characters: int,
    usd_per_million: float = AZURE_TTS_USD_PER_MILLION_CHARS,
    *,
    voice: str = "",
    failed: bool = False,
) -> str:
    """Characters sent to a voice; Azure's priced per million characters, the offline voices free."""
    cost = round(characters * usd_per_million / 1e6, 6) if provider == "azure" else None
    detail = {"voice": voice, **({"usd_per_million_chars": usd_per_million} if provider == "azure" else {})}
    return spend(production_id, key, "tts", provider, characters, "characters", cost, detail, failed=failed)


def render(production_id: int, key: str, cpu_seconds: float, detail: dict | None = None, **kw: Any) -> str:
    """The CPU-seconds (user + system) ffmpeg spent rendering (pipelines.media.ffmpeg.cpu_meter)."""
    return spend(production_id, key, "render", "ffmpeg", cpu_seconds, "cpu_seconds", None, detail, **kw)


@contextmanager
def render_cpu(production_id: int, key: str) -> Iterator[dict]:
    """Record the CPU-seconds of the ffmpeg runs inside the block as `key` (ffmpeg.cpu_meter), with the
    dict it yields as detail; when the block raises, as a failed attempt (the CPU was burnt all the same)."""
    detail: dict = {}
    try:
        with cpu_meter() as cpu:
            yield detail
    except Exception:
        render(production_id, key, cpu.seconds, {**detail, "wall_seconds": cpu.wall_seconds}, failed=True)
        raise
    render(production_id, key, cpu.seconds, {**detail, "wall_seconds": cpu.wall_seconds})


def research(conn: Conn, production_id: int, usd_per_thousand_websearch: float | None = None) -> None:
    """The production's external research calls, per provider, from the research log (in the connection's
    transaction, beside the log's rows): one figure per provider, recomputed each time."""
    rows = conn.execute(
        "SELECT provider, count(*) AS calls, sum(candidates) AS found FROM research_log"
        " WHERE production_id = %s GROUP BY provider",
        (production_id,),
    ).fetchall()
    for r in rows:
        price = usd_per_thousand_websearch if r["provider"] == "websearch" else None
        cost = None if price is None else round(r["calls"] * price / 1000, 6)
        record(conn, production_id, f"research:{r['provider']}", "research", r["provider"], r["calls"],
               "calls", cost, {"candidates": int(r["found"] or 0)})  # fmt: skip


def youtube(production_id: int) -> None:
    """The production's YouTube API use from the quota ledger (read across channels, on a connection of its
    own): units and calls per API, recomputed each time."""
    with connect() as conn:
        for api, units, calls, failed in _ledger(conn, production_id):
            record(conn, production_id, f"youtube:{api}", "youtube", "youtube", units, "units", None,
                   {"calls": calls, "failed_calls": failed})  # fmt: skip


def _ledger(conn: Conn, production_id: int) -> list[tuple[str, int, int, int]]:
    rows = conn.execute(
        "SELECT api, sum(units) AS units, count(*) AS calls, count(*) FILTER (WHERE NOT ok) AS failed"
        " FROM nicheflow.youtube_calls WHERE production_id = %s GROUP BY api ORDER BY api",
        (production_id,),
    )
    return [(r["api"], int(r["units"]), int(r["calls"]), int(r["failed"])) for r in rows]


# --- what it comes to ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    """One figure of a production."""

    key: str
    kind: str
    provider: str
    quantity: float
    unit: str
    cost_usd: float | None
    price: str  # a key of PRICES
    detail: dict
    at: datetime | None

    @property
    def failed(self) -> bool:
        """Spent by an attempt that failed (see the module doc)."""
        return ":failed:" in self.key

    @property
    def label(self) -> str:
        """The price as shown: "$0.001234", "free/offline", "no price known", ..."""
        return f"${self.cost_usd:.6f}" if self.cost_usd is not None else PRICES[self.price]


@dataclass(frozen=True)
class KindCost:
    """One kind of spend summed: dollars (of the priced figures) and quantities per unit."""

    kind: str
    cost_usd: float = 0.0
    quantities: dict[str, float] = field(default_factory=dict)
    unpriced: int = 0  # figures with no price known, left out of cost_usd


def _by_kind(lines: list[CostLine]) -> dict[str, KindCost]:
    usd: dict[str, float] = defaultdict(float)
    qty: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    unknown: dict[str, int] = defaultdict(int)
    for x in lines:
        usd[x.kind] += x.cost_usd or 0.0
        qty[x.kind][x.unit] += x.quantity
        unknown[x.kind] += x.price == "unknown"
    return {
        k: KindCost(k, round(usd[k], 6), {u: round(q, 3) for u, q in qty[k].items()}, unknown[k])
        for k in KINDS
        if k in qty
    }


@dataclass(frozen=True)
class CostSummary:
    """What one production spent: its figures, by kind, the dollar total of the priced ones, what has no
    price known (left out of the total), what was free, and the calls and units counted."""

    production_id: int
    channel: str
    lines: list[CostLine]
    by_kind: dict[str, KindCost]
    total_usd: float
    unpriced: list[CostLine]
    free: list[CostLine]
    youtube_units: int
    youtube_calls: int
    stock_calls: int
    research_calls: int
    render_cpu_seconds: float

    def dump(self) -> dict:
        """Plain JSON-able data (for pages and the API)."""
        data = asdict(self)
        for group in ("lines", "unpriced", "free"):
            for line, obj in zip(data[group], getattr(self, group), strict=True):
                line.update(at=obj.at.isoformat() if obj.at else None, failed=obj.failed, label=obj.label)
        return data


def _line(r: dict) -> CostLine:
    cost = float(r["cost_usd"]) if isinstance(r["cost_usd"], Decimal | float | int) else None
    detail = dict(r["detail"] or {})
    price = detail.pop("price", None) or price_of(r["kind"], r["provider"], cost)
    return CostLine(
        r["key"], r["kind"], r["provider"], float(r["quantity"]), r["unit"], cost, price, detail, r["at"]
    )


def of_production(conn: Conn, production_id: int) -> CostSummary:
    """The production's costs. YouTube units are read from the quota ledger when this connection may read
    it (one not entered into a channel), else from the figure the publish stage recorded from it."""
    channel = one(
        conn.execute("SELECT channel FROM productions WHERE id = %s", (production_id,)),
        f"production {production_id}",
    )["channel"]
    rows = conn.execute(
        "SELECT * FROM production_costs WHERE production_id = %s ORDER BY at, key", (production_id,)
    )
    lines = [_line(r) for r in rows]
    can_read = one(conn.execute("SELECT has_table_privilege('nicheflow.youtube_calls', 'SELECT') AS ok"))[
        "ok"
    ]
    if can_read:
        lines = [x for x in lines if not x.key.startswith("youtube:")] + [
            CostLine(
                f"youtube:{api}",
                "youtube",
                "youtube",
                units,
                "units",
                None,
                "quota",
                {"calls": calls, "failed_calls": failed},
                None,
            )  # fmt: skip
            for api, units, calls, failed in _ledger(conn, production_id)
        ]
    youtube_lines = [x for x in lines if x.kind == "youtube" and x.unit == "units"]
    return CostSummary(
        production_id=production_id,
        channel=channel,
        lines=lines,
        by_kind=_by_kind(lines),
        total_usd=round(sum(x.cost_usd or 0.0 for x in lines), 6),
        unpriced=[x for x in lines if x.price == "unknown"],
        free=[x for x in lines if x.price == "free"],
        youtube_units=int(sum(x.quantity for x in youtube_lines)),
        youtube_calls=sum(int(x.detail.get("calls", 0)) for x in youtube_lines),
        stock_calls=int(sum(x.quantity for x in lines if x.kind == "stock" and x.unit == "calls")),
        research_calls=int(sum(x.quantity for x in lines if x.kind == "research" and x.unit == "calls")),
        render_cpu_seconds=round(sum(x.quantity for x in lines if x.unit == "cpu_seconds"), 3),
    )


@dataclass(frozen=True)
class MonthCost:
    """A channel's spend in one month: the videos that spent in it, the priced total, by kind."""

    month: str  # YYYY-MM
    videos: int
    total_usd: float
    by_kind: dict[str, KindCost]

    @property
    def per_video_usd(self) -> float:
        """The month's priced total per video."""
        return round(self.total_usd / self.videos, 6) if self.videos else 0.0


def _month_lines(
    conn: Conn, channel: str, tz: str, month: str | None = None
) -> list[tuple[str, int, CostLine]]:
    rows = conn.execute(
        "SELECT to_char(at AT TIME ZONE %s, 'YYYY-MM') AS month, * FROM production_costs WHERE channel = %s"
        " AND (%s::text IS NULL OR to_char(at AT TIME ZONE %s, 'YYYY-MM') = %s) ORDER BY at",
        (tz, channel, month, tz, month),
    )
    return [(r["month"], r["production_id"], _line(r)) for r in rows]


def monthly(conn: Conn, channel: str, tz: str = "UTC") -> list[MonthCost]:
    """The channel's spend per month (months in time zone `tz`, oldest first). A figure counts in the month
    it was spent; a video counts in each month it spent something in. YouTube units are the ones the
    publish stage recorded from the ledger."""
    months: dict[str, list[CostLine]] = defaultdict(list)
    videos: dict[str, set[int]] = defaultdict(set)
    for month, production_id, line in _month_lines(conn, channel, tz):
        months[month].append(line)
        videos[month].add(production_id)
    return [
        MonthCost(m, len(videos[m]), round(sum(x.cost_usd or 0.0 for x in ls), 6), _by_kind(ls))
        for m, ls in sorted(months.items())
    ]


@dataclass(frozen=True)
class VideoCost:
    """One production's spend within a month."""

    production_id: int
    topic: str
    total_usd: float
    by_kind: dict[str, KindCost]


def month_videos(conn: Conn, channel: str, month: str, tz: str = "UTC") -> list[VideoCost]:
    """The channel's productions that spent in `month` (YYYY-MM), with what they spent in it."""
    lines: dict[int, list[CostLine]] = defaultdict(list)
    for _, production_id, line in _month_lines(conn, channel, tz, month):
        lines[production_id].append(line)
    topics = {
        r["id"]: r["topic"]
        for r in conn.execute("SELECT id, topic FROM productions WHERE id = ANY(%s)", (list(lines),))
    }
    return [
        VideoCost(pid, topics.get(pid, "?"), round(sum(x.cost_usd or 0.0 for x in ls), 6), _by_kind(ls))
        for pid, ls in sorted(lines.items())
    ]
