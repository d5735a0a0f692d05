"""`nicheflow costs`: what a video cost, and what a channel spent per month, from a terminal.

  nicheflow costs PRODUCTION                      its figures: LLM tokens and cost, TTS characters, stock and
                                                  research calls, YouTube units, render CPU-seconds
  nicheflow costs --channel C [--month YYYY-MM]   per month (in the channel's time zone), or that month's
                                                  videos one by one

Figures without a money price say why: free/offline, quota units, own CPU, or no price known (left out of
the totals, and said so)."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from pipelines import costs
from pipelines.db import connect

UNITS = {"cpu_seconds": "CPU-s"}


def quantity(value: float, unit: str) -> str:
    """A figure as read: "1,800 tokens", "12.3 CPU-s"."""
    shown = f"{value:,.1f}" if unit == "cpu_seconds" else f"{value:,.0f}"
    return f"{shown} {UNITS.get(unit, unit)}"


def usd(value: float) -> str:
    """Dollars with as many decimals as small figures need."""
    return f"${value:,.2f}" if value >= 10 else f"${value:,.6f}"


def kinds_line(by_kind: dict[str, costs.KindCost]) -> str:
    """One line of what each kind came to: "llm 1,800 tokens $0.001122 · tts 812 characters · ..."."""
    parts = []
    for k in by_kind.values():
        amounts = ", ".join(quantity(q, u) for u, q in k.quantities.items())
        parts.append(f"{k.kind} {amounts}" + (f" {usd(k.cost_usd)}" if k.cost_usd else ""))
    return " · ".join(parts) or "nothing recorded"


def production_report(summary: costs.CostSummary, topic: str) -> str:
    """The text `nicheflow costs PRODUCTION` prints."""
    lines = [f"Production {summary.production_id} ({summary.channel}): {topic!r}"]
    if not summary.lines:
        return "\n".join([*lines, "  nothing recorded yet"])
    lines.append(f"  {'KIND':<9} {'PROVIDER':<10} {'QUANTITY':>20}  {'COST':<30} KEY")
    for x in summary.lines:
        lines.append(
            f"  {x.kind:<9} {x.provider:<10} {quantity(x.quantity, x.unit):>20}  {x.label:<30} {x.key}"
            + ("  (failed attempt)" if x.failed else "")
        )
    total = f"  total {usd(summary.total_usd)}"
    if summary.unpriced:
        total += f" + {len(summary.unpriced)} figure(s) with no price known: " + ", ".join(
            f"{x.provider} ({quantity(x.quantity, x.unit)})" for x in summary.unpriced
        )
    lines.append(total)
    lines.append(
        f"  YouTube {summary.youtube_units:,} units in {summary.youtube_calls} calls (quota, no money price); "
        f"stock {summary.stock_calls} API calls; research {summary.research_calls} calls; "
        f"render {summary.render_cpu_seconds:,.1f} CPU-seconds"
    )
    return "\n".join(lines)


def channel_report(rows: list[costs.MonthCost], channel: str, tz: str) -> str:
    """The text `nicheflow costs --channel C` prints."""
    if not rows:
        return f"{channel}: nothing recorded yet"
    lines = [
        f"{channel} per month ({tz}):",
        f"  {'MONTH':<8} {'VIDEOS':>6} {'TOTAL':>12} {'PER VIDEO':>12}  BY KIND",
    ]
    for m in rows:
        lines.append(
            f"  {m.month:<8} {m.videos:>6} {usd(m.total_usd):>12} {usd(m.per_video_usd):>12}  {kinds_line(m.by_kind)}"
        )
    return "\n".join(lines)


def month_report(rows: list[costs.VideoCost], channel: str, month: str) -> str:
    """The text `nicheflow costs --channel C --month YYYY-MM` prints."""
    if not rows:
        return f"{channel} spent nothing in {month}"
    lines = [f"{channel} in {month}: {len(rows)} video(s), {usd(sum(v.total_usd for v in rows))}"]
    for v in rows:
        lines.append(f"  {v.production_id:>5} {usd(v.total_usd):>12}  {v.topic}  ·  {kinds_line(v.by_kind)}")
    return "\n".join(lines)


def _timezone(channel: str) -> str:
    from pipelines.config import ConfigError, get_config

    try:
        return get_config(channel).timezone
    except (ConfigError, LookupError, OSError):
        return "UTC"  # a channel whose YAML is gone still has its rows


def cmd_costs(args: argparse.Namespace) -> int:
    """Print one production's costs, or a channel's per month."""
    if (args.production is None) == (args.channel is None):
        print("nicheflow costs: give a production id, or --channel", file=sys.stderr)
        return 2
    if args.month and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
        print(f"nicheflow costs: --month {args.month!r}: use YYYY-MM", file=sys.stderr)
        return 2
    with connect() as conn:  # not entered into a channel: it reads the quota ledger too
        if args.production is not None:
            row = conn.execute("SELECT topic FROM productions WHERE id = %s", (args.production,)).fetchone()
            if row is None:
                print(f"nicheflow costs: no production {args.production}", file=sys.stderr)
                return 1
            print(production_report(costs.of_production(conn, args.production), row["topic"]))
            return 0
        tz = _timezone(args.channel)
        if args.month:
            print(
                month_report(costs.month_videos(conn, args.channel, args.month, tz), args.channel, args.month)
            )
        else:
            print(channel_report(costs.monthly(conn, args.channel, tz), args.channel, tz))
    return 0


def register(sub: Any) -> None:
    """Add `costs` to the `nicheflow` argument parser's subcommands."""
    p = sub.add_parser("costs", help="what a production cost, or a channel per month")
    p.add_argument("production", nargs="?", type=int, help="a production id")
    p.add_argument("--channel", help="a channel: its spend per month")
    p.add_argument("--month", help="with --channel: that month's videos (YYYY-MM)")
    p.set_defaults(func=cmd_costs)
