"""The YouTube quota ledger: what each Google Cloud project has spent today, and whether a publish fits.

Quota is per Google Cloud project (every channel whose OAuth client is that project's shares it) and
resets at midnight Pacific time. Two buckets of the Data API matter (../shared/notes/youtube.md): 100
`videos.insert` calls a day, and 10,000 units a day for everything else. Every call is recorded, failed ones
too, because YouTube charges those, with the production it was made for when there is one (its cost).
Calls to the Analytics API (`reports.query`) are recorded as api 'analytics', one unit a query: they have
their own quota and never count in the Data API's buckets nor in how many publishes still fit. The ledger is
read across channels, with a connection not entered into one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pipelines import clock
from pipelines.db import Conn, connect

PACIFIC = ZoneInfo("America/Los_Angeles")
DAILY_UNITS = 10_000
DAILY_UPLOADS = 100
# units in the shared bucket per call (videos.insert spends the uploads bucket instead)
UNITS = {
    "videos.insert": 0,
    "videos.list": 1,
    "channels.list": 1,
    "thumbnails.set": 50,
    "captions.insert": 400,
    "playlistItems.insert": 50,
    "reports.query": 1,  # the Analytics API: its own quota (api 'analytics'), one a query
}
ANALYTICS_METHODS = frozenset({"reports.query"})


def api_of(method: str) -> str:
    """Which API's quota a call of `method` spends: 'analytics' or 'data'."""
    return "analytics" if method in ANALYTICS_METHODS else "data"


def pt_day(at: datetime | None = None) -> date:
    """The Pacific-time day a call at `at` (default: now) counts against."""
    return (at or clock.now()).astimezone(PACIFIC).date()


def next_reset(at: datetime | None = None) -> datetime:
    """The next midnight Pacific after `at` (default: now): when the day's quota is back."""
    day = pt_day(at) + timedelta(days=1)
    return datetime.combine(day, time(0), PACIFIC)


@dataclass(frozen=True)
class Spent:
    """One project's use of one Pacific-time day."""

    project: str
    day: date
    units: int
    uploads: int

    @property
    def units_left(self) -> int:
        return max(0, DAILY_UNITS - self.units)

    @property
    def uploads_left(self) -> int:
        return max(0, DAILY_UPLOADS - self.uploads)

    def fits(self, units: int, uploads: int) -> bool:
        """Whether a publish needing `units` and `uploads` fits what is left today."""
        return units <= self.units_left and uploads <= self.uploads_left

    def publishes_left(self, units_each: int) -> int:
        """How many more publishes of `units_each` units and one upload fit today."""
        return min(self.uploads_left, self.units_left // max(1, units_each))


def spent(conn: Conn, project: str, day: date | None = None) -> Spent:
    """What `project` has spent of the Data API's quota on `day` (default: today, Pacific)."""
    day = day or pt_day()
    row = conn.execute(
        "SELECT coalesce(sum(units), 0) AS units, count(*) FILTER (WHERE upload) AS uploads"
        " FROM nicheflow.youtube_calls WHERE project = %s AND pt_day = %s AND api = 'data'",
        (project, day),
    ).fetchone()
    assert row is not None
    return Spent(project, day, int(row["units"]), int(row["uploads"]))


def analytics_queries(conn: Conn, project: str, day: date | None = None) -> int:
    """How many Analytics API queries `project` made on `day` (default: today, Pacific)."""
    row = conn.execute(
        "SELECT count(*) AS n FROM nicheflow.youtube_calls WHERE project = %s AND pt_day = %s"
        " AND api = 'analytics'",
        (project, day or pt_day()),
    ).fetchone()
    assert row is not None
    return int(row["n"])


def uploads_since(conn: Conn, channel: str, since: datetime) -> list[datetime]:
    """When `channel` started upload sessions since `since` (for its rolling 24-hour upload limit)."""
    rows = conn.execute(
        "SELECT at FROM nicheflow.youtube_calls WHERE for_channel = %s AND upload AND ok AND at >= %s"
        " ORDER BY at",
        (channel, since),
    )
    return [r["at"] for r in rows]


class Ledger:
    """Records a channel's calls against its project, each committed at once (a crash loses no entry)."""

    def __init__(self, project: str, channel: str):
        self.project, self.channel = project, channel

    def record(self, method: str, ok: bool, reason: str = "", *, production_id: int | None = None) -> None:
        """One call of `method` (a key of UNITS), successful or not, made for `production_id` if given."""
        at = clock.now()
        with connect() as conn:
            conn.execute(
                "INSERT INTO nicheflow.youtube_calls (project, pt_day, method, units, upload, ok, reason,"
                " for_channel, at, api, production_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    self.project,
                    pt_day(at),
                    method,
                    UNITS[method],
                    method == "videos.insert",
                    ok,
                    reason or None,
                    self.channel,
                    at,
                    api_of(method),
                    production_id,
                ),
            )

    def today(self) -> Spent:
        """The project's use today."""
        with connect() as conn:
            return spent(conn, self.project)

    def channel_uploads_since(self, since: datetime) -> list[datetime]:
        """This channel's upload sessions since `since`."""
        with connect() as conn:
            return uploads_since(conn, self.channel, since)
