"""Analytics provider: YouTube, through the real google-api-python-client with the channel's own OAuth token
(pipelines.providers.google; facts: ../shared/notes/youtube.md).

Every report is a `reports.query` of the Analytics API v2 with `ids=channel==MINE`:
- per day: `dimensions=day, filters=video==ID`, one query per video. Not `dimensions=video,day`: the
  Analytics API has no such channel report (`video` goes only with a `sort` and `maxResults` of at most
  200, the top-videos report, and with no time dimension); and a `day` report filtered on several videos
  sums them into one row a day. One video a query is the report that gives each video's own days.
- retention: `dimensions=elapsedVideoTimeRatio, filters=video==ID` (one video, required), metrics
  audienceWatchRatio and relativeRetentionPerformance: about 100 points once the video has enough views.
- traffic: `dimensions=insightTrafficSourceType, filters=video==ID`, views; SHORTS is what the channel's
  Shorts sent to a long-form video.
Analytics queries are recorded in the ledger as 'reports.query' (their own quota, apart from the Data
API's). Near-real-time totals are the Data API's `videos.list(part=statistics)`, 50 ids a call, 1 unit.

A report with no rows (a new video; YouTube's data is 48-72 hours late) is an empty list. A 403 (reason
forbidden or insufficientPermissions) is `AnalyticsRefused`, a revoked token `TokenRevoked`: both permanent,
and the pull skips the channel saying what to do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pipelines.providers.analytics.base import (
    DAILY_METRICS,
    RETENTION_METRICS,
    AnalyticsRefused,
    DailyRow,
    RetentionPoint,
    TrafficRow,
    VideoCounts,
)
from pipelines.providers.google import GoogleAPI, build_service, error_reason
from pipelines.providers.http import ProviderError

NAME = "YouTube Analytics"
REFUSED_REASONS = {"forbidden", "insufficientPermissions"}
IDS_PER_LIST = 50  # videos.list takes at most 50 ids


def table(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a `youtubeAnalytics#resultTable` as dicts, column name to value ([] when it has none)."""
    names = [h["name"] for h in result.get("columnHeaders") or []]
    return [dict(zip(names, row, strict=True)) for row in result.get("rows") or []]


class YouTubeAnalytics(GoogleAPI):
    """One channel's analytics: the Analytics API v2 for reports, the Data API v3 for near-real-time counts.
    Calls go through GoogleAPI.call (ledger, retries, error kinds)."""

    name = NAME
    stops = "Its analytics are skipped"

    def __init__(self, *args: Any, data_service: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._data = data_service

    @property
    def service(self) -> Any:
        """The youtubeAnalytics v2 service, built on first use."""
        if self._service is None:
            self._service = build_service(self.client, self.token, "youtubeAnalytics", "v2")
        return self._service

    @property
    def data(self) -> Any:
        """The youtube v3 service (videos.list), built on first use."""
        if self._data is None:
            self._data = build_service(self.client, self.token)
        return self._data

    def fail(self, method: str, e: BaseException) -> ProviderError:
        """As GoogleAPI.fail, but a 403 that is not about quota or rate says the channel's analytics cannot
        be read with this token: AnalyticsRefused, with what to do."""
        status, reason, message = error_reason(e)
        if status == 403 and reason in REFUSED_REASONS:
            return AnalyticsRefused(
                NAME,
                403,
                f"{method}: {reason}: {message}. Channel {self.channel}'s token may not read its analytics: "
                "the consent did not allow yt-analytics.readonly, or the Google account is not an owner or "
                "manager of the channel. Its analytics are skipped until you reconnect it with every "
                f"permission allowed: `nicheflow youtube connect {self.channel}`",
            )
        return super().fail(method, e)

    def report(
        self, dimensions: str, metrics: Sequence[str], video_id: str, start: date, end: date, sort: str
    ) -> list[dict[str, Any]]:
        """One reports.query of the channel's own data, filtered on one video; its rows as dicts."""
        request = self.service.reports().query(
            ids="channel==MINE",
            startDate=start.isoformat(),
            endDate=end.isoformat(),
            dimensions=dimensions,
            metrics=",".join(metrics),
            filters=f"video=={video_id}",
            sort=sort,
        )
        return table(self.call("reports.query", request))

    def daily(self, video_id: str, start: date, end: date) -> list[DailyRow]:
        """The video's figures per day from `start` to `end`."""
        rows = self.report("day", DAILY_METRICS, video_id, start, end, "day")
        return [
            DailyRow(
                video_id=video_id,
                day=date.fromisoformat(r["day"]),
                views=int(r.get("views") or 0),
                engaged_views=int(r.get("engagedViews") or 0),
                estimated_minutes_watched=float(r.get("estimatedMinutesWatched") or 0),
                average_view_duration=float(r.get("averageViewDuration") or 0),
                average_view_percentage=float(r.get("averageViewPercentage") or 0),
                likes=int(r.get("likes") or 0),
                subscribers_gained=int(r.get("subscribersGained") or 0),
            )
            for r in rows
        ]

    def retention(self, video_id: str, start: date, end: date) -> list[RetentionPoint]:
        """The video's retention curve (about 100 points) over views from `start` to `end`."""
        rows = self.report(
            "elapsedVideoTimeRatio", RETENTION_METRICS, video_id, start, end, "elapsedVideoTimeRatio"
        )
        return [
            RetentionPoint(
                elapsed_ratio=float(r["elapsedVideoTimeRatio"]),
                audience_watch_ratio=float(r.get("audienceWatchRatio") or 0),
                relative_retention=(
                    float(r["relativeRetentionPerformance"])
                    if r.get("relativeRetentionPerformance") is not None
                    else None
                ),
            )
            for r in rows
        ]

    def traffic(self, video_id: str, start: date, end: date) -> list[TrafficRow]:
        """The video's views by traffic source, most first."""
        rows = self.report("insightTrafficSourceType", ("views",), video_id, start, end, "-views")
        return [TrafficRow(str(r["insightTrafficSourceType"]), int(r.get("views") or 0)) for r in rows]

    def counts(self, video_ids: Sequence[str]) -> list[VideoCounts]:
        """videos.list(part=statistics) for these videos, 50 a call (1 unit each)."""
        out = []
        ids = list(dict.fromkeys(video_ids))
        for i in range(0, len(ids), IDS_PER_LIST):
            batch = ",".join(ids[i : i + IDS_PER_LIST])
            found = self.call("videos.list", self.data.videos().list(part="statistics", id=batch))
            for item in found.get("items") or []:
                stats = item.get("statistics") or {}
                out.append(
                    VideoCounts(
                        item["id"],
                        int(stats.get("viewCount") or 0),
                        int(stats.get("likeCount") or 0),
                        int(stats.get("commentCount") or 0),
                    )
                )
        return out
