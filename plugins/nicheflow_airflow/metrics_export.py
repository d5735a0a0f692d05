"""The six operating metrics in Prometheus' text format, read from PostgreSQL when the page is scraped (a custom
collector over pipelines.metrics; nothing is kept in this process, so every api-server worker answers the
same). Served at /review/metrics (operations_pages).

    nicheflow_videos_published_total{channel,kind}            counter: long-form videos and Shorts so far
    nicheflow_videos_published_today{channel}                 gauge: published this UTC day
    nicheflow_checkpoint_wait_seconds{channel,stage}          summary: quantile 0.5/0.95/0.99, _count, _sum
                                                              (checkpoints opened in the window and every
                                                              pending one, with its wait so far)
    nicheflow_checkpoints_pending{channel,stage}              gauge
    nicheflow_runs{channel,status}                            gauge: productions created in the window
    nicheflow_runs_failed_ratio{channel}                      gauge: failed / all of them
    nicheflow_api_latency_seconds{provider}                   summary over every channel's calls in the window
    nicheflow_api_calls_total{channel,provider,outcome}       counter (channel "" for calls outside one)
    nicheflow_knowledge_facts_total{channel,origin}           counter: facts reused / new
    nicheflow_knowledge_reuse_ratio{channel}                  gauge
    nicheflow_cost_per_video_usd{channel}                     gauge: priced spend per video in the window
    nicheflow_cost_usd_total{channel}                         counter: priced spend so far

The window is pipelines.metrics.WINDOW_DAYS (30 days). prometheus_client is imported when a scrape comes in:
Airflow imports every file of the plugins folder in every component."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from pipelines import metrics

if TYPE_CHECKING:
    from prometheus_client.registry import Collector


def _family(kind: str, name: str, doc: str, labels: list[str], rows: Iterator[tuple[tuple, float]]) -> Any:
    """A counter or gauge family of (label values, value) rows."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    fam = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(name, doc, labels=labels)
    for key, value in rows:
        fam.add_metric(list(key), value)
    return fam


def _summary(name: str, doc: str, labels: list[str], data: dict[tuple, metrics.Quantiles]) -> Any:
    """A summary family: quantiles 0.5, 0.95 and 0.99, _count and _sum per label set."""
    from prometheus_client.core import Metric

    m = Metric(name, doc, "summary")
    for key, q in sorted(data.items()):
        base = dict(zip(labels, key, strict=True))
        for quantile, value in (("0.5", q.p50), ("0.95", q.p95), ("0.99", q.p99)):
            if value is not None:
                m.add_sample(name, {**base, "quantile": quantile}, value)
        m.add_sample(name + "_count", base, q.count)
        m.add_sample(name + "_sum", base, q.sum)
    return m


def _published(conn: Any, channels: list[str] | None, window: int) -> Iterator[Any]:
    totals = metrics.published_totals(conn, channels)
    yield _family(
        "counter",
        "nicheflow_videos_published",
        "Videos published so far (long-form: by nicheflow; Shorts: on YouTube)",
        ["channel", "kind"],
        iter(sorted(totals.items())),
    )
    days = metrics.published_per_day(conn, channels, days=1)
    today = (((ch,), d[-1][1]) for ch, d in sorted(days.items()) if ch != metrics.ALL)
    yield _family(
        "gauge", "nicheflow_videos_published_today", "Videos published this UTC day", ["channel"], today
    )


def _checkpoints(conn: Any, channels: list[str] | None, window: int) -> Iterator[Any]:
    waits = metrics.checkpoint_waits(conn, channels, window)
    yield _summary(
        "nicheflow_checkpoint_wait_seconds",
        f"Checkpoint wait from opening to decision (pending: so far), last {window} days",
        ["channel", "stage"],
        {k: q for k, q in waits.items() if k[0] != metrics.ALL},
    )
    pending = metrics.pending_checkpoints(conn, channels)
    yield _family(
        "gauge",
        "nicheflow_checkpoints_pending",
        "Checkpoints waiting for a decision",
        ["channel", "stage"],
        iter(sorted(pending.items())),
    )


def _runs(conn: Any, channels: list[str] | None, window: int) -> Iterator[Any]:
    runs = sorted((ch, r) for ch, r in metrics.runs(conn, channels, window).items() if ch != metrics.ALL)
    yield _family(
        "gauge",
        "nicheflow_runs",
        f"Productions created in the last {window} days, by status",
        ["channel", "status"],
        (((ch, st), n) for ch, r in runs for st, n in sorted(r.by_status.items())),
    )
    yield _family(
        "gauge",
        "nicheflow_runs_failed_ratio",
        f"Failed share of the productions of the last {window} days",
        ["channel"],
        (((ch,), r.failed_ratio) for ch, r in runs if r.failed_ratio is not None),
    )


def _api(conn: Any, channels: list[str] | None, window: int) -> Iterator[Any]:
    latency = metrics.api_latency(conn, channels, window)
    yield _summary(
        "nicheflow_api_latency_seconds",
        f"Duration of calls to external services, last {window} days",
        ["provider"],
        {(p,): q for (ch, p), q in latency.items() if ch == metrics.ALL},
    )
    yield _family(
        "counter",
        "nicheflow_api_calls",
        "Calls to external services, by outcome",
        ["channel", "provider", "outcome"],
        iter(sorted(metrics.api_calls(conn, channels).items())),
    )


def _knowledge(conn: Any, channels: list[str] | None, window: int) -> Iterator[Any]:
    reuse = sorted((ch, x) for ch, x in metrics.knowledge_reuse(conn, channels).items() if ch != metrics.ALL)
    yield _family(
        "counter",
        "nicheflow_knowledge_facts",
        "Facts the productions used, by origin",
        ["channel", "origin"],
        (((ch, origin), n) for ch, x in reuse for origin, n in (("reused", x.reused), ("new", x.new))),
    )
    yield _family(
        "gauge",
        "nicheflow_knowledge_reuse_ratio",
        "Share of used facts the knowledge base already had",
        ["channel"],
        (((ch,), x.ratio) for ch, x in reuse if x.ratio is not None),
    )


def _cost(conn: Any, channels: list[str] | None, window: int) -> Iterator[Any]:
    recent = sorted(metrics.cost_per_video(conn, channels, window).items())
    yield _family(
        "gauge",
        "nicheflow_cost_per_video_usd",
        f"Priced spend per video, last {window} days",
        ["channel"],
        (((ch,), c.per_video_usd) for ch, c in recent if ch != metrics.ALL and c.per_video_usd is not None),
    )
    ever = sorted(metrics.cost_per_video(conn, channels, None).items())
    yield _family(
        "counter",
        "nicheflow_cost_usd",
        "Priced spend so far",
        ["channel"],
        (((ch,), c.total_usd) for ch, c in ever if ch != metrics.ALL),
    )


FAMILIES = (_published, _checkpoints, _runs, _api, _knowledge, _cost)


class OperatingMetrics:
    """A prometheus_client collector: `collect()` reads the metrics of `channels` (None: all) from
    PostgreSQL."""

    def __init__(self, channels: list[str] | None = None, window_days: int = metrics.WINDOW_DAYS):
        self.channels, self.window_days = channels, window_days

    def collect(self) -> Iterator[Any]:
        from pipelines.db import connect

        with connect() as conn:
            found = [f for make in FAMILIES for f in make(conn, self.channels, self.window_days)]
        yield from found


def exposition(channels: list[str] | None = None) -> tuple[bytes, str]:
    """The text exposition of the channels' metrics and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(cast("Collector", OperatingMetrics(channels)))  # a collector by its collect()
    return generate_latest(registry), CONTENT_TYPE_LATEST
