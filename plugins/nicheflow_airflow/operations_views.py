"""The Operations page's charts, drawn from pipelines.metrics.snapshot with the server-side SVG module: videos
published per day (one line per channel, and all of them), checkpoint waits per stage (median and p95) and
API latency per provider (p50, p95, p99), over every channel the viewer may read."""

from __future__ import annotations

from datetime import date
from typing import Any

from nicheflow_airflow.charts import Series, bar_chart, line_chart


def duration_unit(seconds: float) -> tuple[float, str]:
    """The unit to show durations up to `seconds` in: (divisor, suffix)."""
    if seconds >= 2 * 3600:
        return 3600.0, "h"
    if seconds >= 120:
        return 60.0, "min"
    return 1.0, "s"


def _fmt(div: float, suffix: str):
    def f(v: float) -> str:
        x = v / div
        return f"{x:.0f} {suffix}" if x >= 10 or float(x).is_integer() else f"{x:.2g} {suffix}"

    return f


def charts(snap: dict[str, Any]) -> dict[str, str]:
    """SVG markup by name: published, waits, latency."""
    rows = snap["channels"]
    channels, overall = rows[:-1], rows[-1]
    lines = [
        Series(c["channel"], [(date.fromisoformat(d["day"]), d["videos"]) for d in c["published"]["per_day"]])
        for c in (channels + [overall] if len(channels) > 1 else channels)
    ]
    published = line_chart(
        lines,
        title=f"Videos published per day, last {snap['chart_days']} days",
        desc="Long-form videos and Shorts published per UTC day, per channel"
        + (" and over all of them" if len(channels) > 1 else ""),
        y_label="videos",
        area=False,
    )
    stages = list(overall["checkpoint_waits"])
    waits = [overall["checkpoint_waits"][s] for s in stages]
    top = max([w.get("p95") or 0 for w in waits] + [1])
    div, suffix = duration_unit(top)
    wait_chart = bar_chart(
        stages,
        [("median", [w.get("p50") for w in waits]), ("p95", [w.get("p95") for w in waits])],
        title="Checkpoint wait per stage",
        desc=f"Median and 95th percentile wait for a decision, last {snap['window_days']} days; pending "
        "checkpoints count with their wait so far",
        y_label=f"wait ({suffix})",
        y_format=_fmt(div, suffix),
    )
    providers = list(overall["api_latency"])
    lat = [overall["api_latency"][p] for p in providers]
    top = max([x["p99"] or 0 for x in lat] + [0.001])
    ldiv, lsuffix = (1.0, "s") if top >= 1 else (0.001, "ms")
    latency = bar_chart(
        providers,
        [(q, [x[q] for x in lat]) for q in ("p50", "p95", "p99")],
        title="API latency per provider",
        desc=f"50th, 95th and 99th percentile duration of each call to the provider, last {snap['window_days']} days",
        y_label=f"latency ({lsuffix})",
        y_format=_fmt(ldiv, lsuffix),
    )
    return {"published": published, "waits": wait_chart, "latency": latency}
