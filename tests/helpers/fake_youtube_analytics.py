"""The YouTube Analytics API v2 part of tests.helpers.fake_youtube: `GET /v2/reports` (reports.query) answered
from a data set the test gives per video, the way Google answers: a `youtubeAnalytics#resultTable` with
`columnHeaders` ({name, columnType DIMENSION|METRIC, dataType}) then `rows` (left out when there are none),
the reports the API has (totals, `day`, `elapsedVideoTimeRatio` for one video, `insightTrafficSourceType`),
and its 400s for a query it does not support (`video,day`, an unknown metric, dates the wrong way round).
`sample_daily` and `sample_retention` make realistic figures: views that decay after publishing, a curve
that drops in the first seconds and then slowly."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

DAILY = {  # metric -> dataType, as the API types them
    "views": "INTEGER",
    "engagedViews": "INTEGER",
    "estimatedMinutesWatched": "INTEGER",
    "averageViewDuration": "INTEGER",
    "averageViewPercentage": "FLOAT",
    "likes": "INTEGER",
    "subscribersGained": "INTEGER",
    "comments": "INTEGER",
    "shares": "INTEGER",
}
RETENTION = {"audienceWatchRatio": "FLOAT", "relativeRetentionPerformance": "FLOAT"}
TRAFFIC = {"views": "INTEGER", "estimatedMinutesWatched": "INTEGER"}
SUMMED = {"views", "engagedViews", "estimatedMinutesWatched", "likes", "subscribersGained", "comments"}
SUMMED |= {"shares"}
UNSUPPORTED = (
    "The query is not supported. Check the documentation at "
    "https://developers.google.com/youtube/analytics/v2/available_reports for a list of supported queries."
)


class ReportError(Exception):
    """An error answer for reports.query (the fake turns it into Google's error body)."""

    def __init__(self, status: int, reason: str, message: str):
        self.status, self.reason, self.message = status, reason, message


@dataclass
class VideoAnalytics:
    """What the Analytics API knows of one video: figures per day (metric -> value), the retention curve
    ((elapsedVideoTimeRatio, audienceWatchRatio, relativeRetentionPerformance), about 100 points), views
    by traffic source."""

    daily: dict[date, dict[str, float]] = field(default_factory=dict)
    retention: list[tuple[float, float, float]] = field(default_factory=list)
    traffic: dict[str, int] = field(default_factory=dict)


def sample_daily(
    first: date, days: int, *, peak: int = 900, seconds: float = 480, seed: int = 1
) -> dict[date, dict[str, float]]:
    """`days` days from `first` of a video `seconds` long: views peak on the first day then decay (~25 % a
    day), about 70 % of views engaged, watch time and percentage from a 40-55 % average view."""
    rnd = random.Random(seed)
    out = {}
    for i in range(days):
        views = max(1, int(peak * math.exp(-0.28 * i) * rnd.uniform(0.85, 1.15)))
        pct = rnd.uniform(40, 55)
        duration = int(seconds * pct / 100)
        out[first + timedelta(days=i)] = {
            "views": views,
            "engagedViews": int(views * rnd.uniform(0.62, 0.78)),
            "estimatedMinutesWatched": int(views * duration / 60),
            "averageViewDuration": duration,
            "averageViewPercentage": round(pct, 2),
            "likes": int(views * rnd.uniform(0.02, 0.05)),
            "subscribersGained": int(views * rnd.uniform(0.002, 0.01)),
            "comments": int(views * 0.004),
            "shares": int(views * 0.003),
        }
    return out


def sample_retention(*, hook_loss: float = 0.35, seed: int = 1) -> list[tuple[float, float, float]]:
    """100 points (0.01 .. 1.0): `hook_loss` of viewers gone in the first 5 %, then a slow decline, a small
    rewatch bump at 40 %, relative retention around the median."""
    rnd = random.Random(seed)
    points = []
    for i in range(1, 101):
        x = i / 100
        ratio = 1 - hook_loss * min(1.0, x / 0.05) - 0.3 * max(0.0, x - 0.05)
        ratio += 0.04 if 0.38 <= x <= 0.42 else 0
        points.append((x, round(max(0.05, ratio), 4), round(rnd.uniform(0.4, 0.6), 4)))
    return points


def _parse_filters(text: str) -> dict[str, list[str]]:
    out = {}
    for part in filter(None, text.split(";")):
        name, sep, values = part.partition("==")
        if not sep:
            raise ReportError(400, "badRequest", f"Invalid filter: {part}")
        out[name] = values.split(",")
    return out


def _headers(dims: list[str], metrics: list[str], types: dict[str, str]) -> list[dict]:
    dim_type = {"day": "STRING", "elapsedVideoTimeRatio": "FLOAT", "insightTrafficSourceType": "STRING"}
    heads = [{"name": d, "columnType": "DIMENSION", "dataType": dim_type[d]} for d in dims]
    return heads + [{"name": m, "columnType": "METRIC", "dataType": types[m]} for m in metrics]


def _dates(q: dict[str, str]) -> tuple[date, date]:
    for name in ("startDate", "endDate", "metrics", "ids"):
        if not q.get(name):
            raise ReportError(400, "required", f"Required parameter: {name}")
    try:
        start, end = date.fromisoformat(q["startDate"]), date.fromisoformat(q["endDate"])
    except ValueError:
        raise ReportError(400, "badRequest", "Invalid date: use YYYY-MM-DD.") from None
    if start > end:
        raise ReportError(400, "badRequest", "The start date must be on or before the end date.")
    return start, end


def _value(metric: str, value: float, types: dict[str, str]) -> float | int:
    return int(round(value)) if types[metric] == "INTEGER" else round(float(value), 4)


def _daily_rows(
    found: list[VideoAnalytics], metrics: list[str], start: date, end: date, by_day: bool
) -> list[list]:
    days: dict[date, list[dict[str, float]]] = {}
    for v in found:
        for day, figures in v.daily.items():
            if start <= day <= end:
                days.setdefault(day, []).append(figures)
    groups = sorted(days.items()) if by_day else [(None, [f for fs in days.values() for f in fs])]
    rows = []
    for day, figures in groups:
        if not figures:
            continue
        views = sum(f["views"] for f in figures) or 1
        row: list = [day.isoformat()] if day else []
        for m in metrics:  # averages weighted by views, as a report over several videos or days gives them
            total = sum(f.get(m, 0) for f in figures)
            value = total if m in SUMMED else sum(f.get(m, 0) * f["views"] for f in figures) / views
            row.append(_value(m, value, DAILY))
        rows.append(row)
    return rows


def report(q: dict[str, str], videos: dict[str, VideoAnalytics], own: set[str]) -> dict:
    """The answer to reports.query `q` over the channel's data: `videos` (video id -> data) of which `own`
    are the token's channel's (another channel's video has no rows for it, as at Google)."""
    start, end = _dates(q)
    dims = [d for d in q.get("dimensions", "").split(",") if d]
    metrics = q["metrics"].split(",")
    filters = _parse_filters(q.get("filters", ""))
    ids = filters.get("video", [])
    found = (
        [videos[i] for i in ids if i in own and i in videos]
        if ids
        else [videos[i] for i in own if i in videos]
    )
    if dims == ["elapsedVideoTimeRatio"]:
        if len(ids) != 1:
            raise ReportError(400, "badRequest", UNSUPPORTED)
        types, rows = RETENTION, [
            [x, *(_value(m, {"audienceWatchRatio": a, "relativeRetentionPerformance": r}[m], RETENTION)
                  for m in metrics)]
            for v in found for x, a, r in v.retention
        ]  # fmt: skip
    elif dims == ["insightTrafficSourceType"]:
        types = TRAFFIC
        sources: dict[str, int] = {}
        for v in found:
            for source, views in v.traffic.items():
                sources[source] = sources.get(source, 0) + views
        rows = [[s, *(n if m == "views" else 0 for m in metrics)] for s, n in sources.items()]
    elif dims in ([], ["day"]):
        types = DAILY
        if unknown := [m for m in metrics if m not in DAILY]:
            raise ReportError(400, "badRequest", f"Unknown identifier ({unknown[0]}) given in field metrics.")
        rows = _daily_rows(found, metrics, start, end, by_day=bool(dims))
    else:  # video,day among them: no such report
        raise ReportError(400, "badRequest", UNSUPPORTED)
    if unknown := [m for m in metrics if m not in types]:
        raise ReportError(400, "badRequest", f"Unknown identifier ({unknown[0]}) given in field metrics.")
    sort = q.get("sort", "")
    if sort:
        key, names = sort.lstrip("-"), [h["name"] for h in _headers(dims, metrics, types)]
        if key not in names:
            raise ReportError(400, "badRequest", f"Unknown identifier ({key}) given in field sort.")
        col = names.index(key)
        rows.sort(key=lambda r: r[col], reverse=sort.startswith("-"))
    answer = {"kind": "youtubeAnalytics#resultTable", "columnHeaders": _headers(dims, metrics, types)}
    return answer | ({"rows": rows} if rows else {})
