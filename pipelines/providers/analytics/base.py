"""The analytics slot's interface: an `AnalyticsProvider` answers, for one channel's videos, the figures per
video per day, a video's audience retention curve, where a video's views came from, and near-real-time
totals for videos too young for the daily report. Each answer is a list of small typed rows; an empty list
(a new video, no data yet) is an answer, not an error.

The provider never touches the database: pipelines.analytics stores what it answers. A channel whose
analytics cannot be read (403) raises `AnalyticsRefused`, permanent until a person acts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from pipelines.providers.http import ProviderRejected

DAILY_METRICS = (
    "views",
    "engagedViews",
    "estimatedMinutesWatched",
    "averageViewDuration",
    "averageViewPercentage",
    "likes",
    "subscribersGained",
)
RETENTION_METRICS = ("audienceWatchRatio", "relativeRetentionPerformance")


class AnalyticsRefused(ProviderRejected):
    """The Analytics API refused the channel's reports (403 forbidden or insufficientPermissions): the token
    cannot read this channel's analytics. Retrying cannot help; reconnecting the channel with every
    permission allowed (or from an account that owns or manages the channel) does."""


@dataclass(frozen=True)
class DailyRow:
    """One video's figures on one day (the Analytics API's days, Pacific time)."""

    video_id: str
    day: date
    views: int
    engaged_views: int
    estimated_minutes_watched: float
    average_view_duration: float  # seconds
    average_view_percentage: float  # 0-100
    likes: int
    subscribers_gained: int


@dataclass(frozen=True)
class RetentionPoint:
    """One point of a video's audience retention curve: at `elapsed_ratio` of its length (0.01-1.0), the
    share of views still watching (above 1 where viewers rewatch), and how that compares with YouTube
    videos of similar length (0-1, 0.5 = median), when YouTube gives it."""

    elapsed_ratio: float
    audience_watch_ratio: float
    relative_retention: float | None


@dataclass(frozen=True)
class TrafficRow:
    """A video's views from one traffic source (insightTrafficSourceType: SHORTS, YT_SEARCH, ...)."""

    source: str
    views: int


@dataclass(frozen=True)
class VideoCounts:
    """A video's totals now (Data API videos.list, part=statistics), before the daily report has them."""

    video_id: str
    views: int
    likes: int
    comments: int


class AnalyticsProvider(Protocol):
    """Reads one channel's video analytics."""

    name: str

    def daily(self, video_id: str, start: date, end: date) -> list[DailyRow]:
        """The video's figures per day from `start` to `end` (inclusive); days without data are left out."""
        ...

    def retention(self, video_id: str, start: date, end: date) -> list[RetentionPoint]:
        """The video's retention curve over views from `start` to `end`, in order; empty while it has none."""
        ...

    def traffic(self, video_id: str, start: date, end: date) -> list[TrafficRow]:
        """The video's views by traffic source from `start` to `end`, most views first."""
        ...

    def counts(self, video_ids: Sequence[str]) -> list[VideoCounts]:
        """Near-real-time totals of these videos (those YouTube knows)."""
        ...
