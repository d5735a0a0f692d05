"""The content calendar across channels: per day, the published and scheduled slots (long-form and Shorts)
with time, title and state, the productions in flight with the checkpoint they wait at, and the days with
nothing scheduled.

Time zones: a slot is an instant (its publish time, stored with its zone). The calendar is drawn in one
display zone the viewer picks (UTC unless they choose another, e.g. their browser's): a slot sits on the day
and at the time it falls on in that zone, and is also labelled with its channel's local time (and the local
date when that differs). So a São Paulo channel at 18:00 local (21:00 UTC) and a London channel at 18:00
local (18:00 UTC in winter) share a day in UTC, London first; seen from Tokyo both move to the next day.

Slots come from youtube_uploads (the YouTube provider) and from the channel's outbox (the offline provider
writes no rows: each item's metadata.json has its publish time). Plain functions of a connection; the route
in analytics_pages checks which channels the viewer may see."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from pipelines.config import ChannelConfig
    from pipelines.db import Conn

KIND_LABEL = {"longform": "long-form", "short": "Short"}
MAX_WEEKS = 12


@dataclass(frozen=True)
class ChannelSlots:
    """What the calendar needs of a channel's config: its zone, publish provider and slot times."""

    channel: str
    timezone: str = "UTC"
    provider: str = "outbox"
    longform_time: time | None = None
    shorts_time: time | None = None

    @classmethod
    def of(cls, cfg: ChannelConfig) -> ChannelSlots:
        p = cfg.publish
        return cls(
            cfg.channel,
            cfg.timezone,
            p.provider,
            p.time,
            p.shorts_time,
        )

    @property
    def place(self) -> str:
        """The zone's city, as a label: America/Sao_Paulo -> Sao Paulo."""
        return self.timezone.rsplit("/", 1)[-1].replace("_", " ")


def week_start(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def _state(state: str, at: datetime | None, now: datetime) -> str:
    if state in ("uploaded", "published"):
        return "scheduled" if at is not None and at > now else "published"
    return {"waiting": "waiting for quota"}.get(state, state)


_UPLOADS = """
SELECT u.item, u.channel, u.kind, u.state, u.video_id, u.production_id, u.message, u.waiting_until,
       u.publish_at, coalesce(u.publish_at, u.updated_at) AS at,
       coalesce(u.details->>'title', p.topic) AS title
  FROM youtube_uploads u JOIN productions p ON p.id = u.production_id
 WHERE u.channel = ANY(%s) AND coalesce(u.publish_at, u.updated_at) >= %s
   AND coalesce(u.publish_at, u.updated_at) < %s"""


def _uploads(conn: Conn, channels: list[str], lo: datetime, hi: datetime, now: datetime) -> list[dict]:
    out = []
    for r in conn.execute(_UPLOADS, (channels, lo, hi)):
        out.append(
            {
                **r,
                "source": "youtube",
                "state": _state(r["state"], r["publish_at"], now),
                "detail": r["message"],
            }
        )
    return out


def _outbox(channel: str, root: Path | None, lo: datetime, hi: datetime) -> list[dict]:
    """The outbox's items of the range, from each item's metadata.json (receipt.json: when it was placed).
    `root`: the outbox folder to read; None: the channel's outbox in the production storage (a bucket too)."""
    from pipelines.providers.publish.outbox import OutboxPublisher
    from pipelines.storage import LocalStorage

    outbox = (
        OutboxPublisher(channel)
        if root is None
        else OutboxPublisher(channel, LocalStorage(root.parent), prefix=root.name)
    )
    out = []
    for name, meta, receipt in outbox.items():
        try:
            placed = receipt.get("published_at") if receipt else None
            stamp = meta.get("publish_at") or placed
            at = datetime.fromisoformat(stamp) if stamp else None
        except (ValueError, AttributeError, TypeError):
            continue  # not one of ours
        if at is None or not lo <= at < hi:
            continue
        out.append(
            {
                "item": name,
                "channel": channel,
                "kind": meta.get("kind", "longform"),
                "state": "in outbox" if placed else "being placed",
                "video_id": None,
                "production_id": meta.get("production_id"),
                "at": at,
                "publish_at": at if meta.get("publish_at") else None,
                "title": meta.get("title") or name,
                "source": "outbox",
                "detail": "the local outbox (no YouTube account): the item would go public at this time",
            }
        )
    return out


def in_flight(conn: Conn, channels: list[str]) -> list[dict]:
    """Productions running or stalled, with the checkpoint they wait at (None: a stage is working)."""
    return conn.execute(
        """SELECT p.id, p.channel, p.topic, p.status, p.created_at, c.stage AS waits_at,
                  c.created_at AS waiting_since, c.id AS checkpoint_id
             FROM productions p
             LEFT JOIN LATERAL (SELECT id, stage, created_at FROM checkpoints
                                 WHERE production_id = p.id AND status = 'pending'
                                 ORDER BY created_at DESC LIMIT 1) c ON true
            WHERE p.channel = ANY(%s) AND p.status IN ('running', 'stalled')
            ORDER BY p.created_at, p.id""",
        (channels,),
    ).fetchall()


def _local_label(at: datetime, ch: ChannelSlots, display_day: date) -> str:
    local = at.astimezone(ZoneInfo(ch.timezone))
    when = f"{local:%H:%M}"
    if local.date() != display_day:
        when += f" {local:%a %b %d}"
    return f"{when} {ch.place}"


def calendar_view(
    conn: Conn,
    channels: Iterable[ChannelSlots],
    *,
    start: date,
    weeks: int = 4,
    zone: str = "UTC",
    now: datetime | None = None,
    outbox: Callable[[str], Path] | None = None,
) -> dict[str, Any]:
    """The calendar of `weeks` weeks from the Monday of `start`'s week, drawn in the display `zone`: weeks of
    days, each with its slots in time order (display time, the channel's local time, title, kind, state),
    today's productions in flight, and whether the day has nothing scheduled. `outbox(channel)` is the
    channel's outbox folder; by default the channel's outbox in the production storage."""
    now = now or datetime.now(UTC)
    tz = ZoneInfo(zone)
    weeks = max(1, min(weeks, MAX_WEEKS))
    first = week_start(start)
    last = first + timedelta(days=7 * weeks)
    lo = datetime.combine(first, time(0), tz)
    hi = datetime.combine(last, time(0), tz)
    by_name = {c.channel: c for c in channels}
    names = sorted(by_name)
    items = _uploads(conn, names, lo, hi, now)
    seen = {i["item"] for i in items}
    for name in names:
        root = outbox(name) if outbox else None
        items += [i for i in _outbox(name, root, lo, hi) if i["item"] not in seen]
    today = now.astimezone(tz).date()
    days: dict[date, dict[str, Any]] = {}
    for n in range(7 * weeks):
        d = first + timedelta(days=n)
        days[d] = {"date": d, "today": d == today, "past": d < today, "slots": [], "in_flight": []}
    for i in sorted(items, key=lambda i: (i["at"], i["channel"], i["item"])):
        shown = i["at"].astimezone(tz)
        ch = by_name[i["channel"]]
        days[shown.date()]["slots"].append(
            {
                **i,
                "time": f"{shown:%H:%M}",
                "local": _local_label(i["at"], ch, shown.date()),
                "zone": ch.timezone,
                "kind_label": KIND_LABEL.get(i["kind"], i["kind"]),
            }
        )
    flying = in_flight(conn, names)
    if today in days:
        days[today]["in_flight"] = flying
    for cell in days.values():
        cell["empty"] = not cell["slots"]
        cell["empty_label"] = "nothing published" if cell["past"] else "nothing scheduled"
    ordered = list(days.values())
    return {
        "zone": zone,
        "start": first,
        "end": last - timedelta(days=1),
        "weeks": [ordered[w * 7 : w * 7 + 7] for w in range(weeks)],
        "prev": first - timedelta(days=7 * weeks),
        "next": last,
        "channels": [by_name[n] for n in names],
        "in_flight": flying,
        "slots": sum(len(d["slots"]) for d in ordered),
        "today": today,
        "now": now,
    }
