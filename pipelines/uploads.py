"""Where each item's publishing stands (table youtube_uploads): the publish provider's `UploadStore`, and
what the Review page and `nicheflow youtube status` show (published, waiting for quota until, failed)."""

from __future__ import annotations

from datetime import datetime

from psycopg.types.json import Jsonb

from pipelines.db import Conn
from pipelines.providers.publish.base import PublishItem, UploadRecord

_COLUMNS = "item, size_bytes, session_uri, progress_bytes, sessions, video_id, youtube_channel, steps"


def _record(row: dict) -> UploadRecord:
    return UploadRecord(
        item=row["item"],
        size=row["size_bytes"],
        session_uri=row["session_uri"],
        progress=row["progress_bytes"],
        sessions=row["sessions"],
        video_id=row["video_id"],
        youtube_channel=row["youtube_channel"],
        steps=dict(row["steps"]),
    )


class UploadRows:
    """The `UploadStore` of one channel's items, on a connection entered into that channel; every save is
    committed at once, so a killed task loses nothing it was told."""

    def __init__(self, conn: Conn, channel: str, project: str):
        self.conn, self.channel, self.project = conn, channel, project

    def load(self, item: PublishItem) -> UploadRecord:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM youtube_uploads WHERE item = %s", (item.name,)
        ).fetchone()
        if row is None:
            row = self.conn.execute(
                "INSERT INTO youtube_uploads (item, channel, production_id, kind, project, size_bytes,"
                f" publish_at, privacy, details) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                (
                    item.name,
                    self.channel,
                    item.production_id,
                    item.kind,
                    self.project,
                    item.video.stat().st_size,
                    item.publish_at,
                    "private" if item.publish_at else item.privacy,
                    Jsonb(item.extra),
                ),
            ).fetchone()
            self.conn.commit()
        assert row is not None
        return _record(row)

    def save(self, record: UploadRecord) -> None:
        self.conn.execute(
            "UPDATE youtube_uploads SET session_uri = %s, progress_bytes = %s, sessions = %s, video_id = %s,"
            " youtube_channel = %s, steps = %s, state = CASE WHEN %s::text IS NULL THEN 'uploading'"
            " ELSE 'uploaded' END, waiting_until = NULL, message = NULL, updated_at = now() WHERE item = %s",
            (
                record.session_uri,
                record.progress,
                record.sessions,
                record.video_id,
                record.youtube_channel,
                Jsonb(record.steps),
                record.video_id,
                record.item,
            ),
        )
        self.conn.commit()

    def taken_slots(self) -> dict[str, datetime]:
        rows = self.conn.execute("SELECT item, publish_at FROM youtube_uploads WHERE publish_at IS NOT NULL")
        return {r["item"]: r["publish_at"] for r in rows}

    def mark(self, item: str, state: str, message: str, until: datetime | None = None) -> None:
        """The item waits (for quota, until `until`), is published, or failed: `message` says why."""
        self.conn.execute(
            "UPDATE youtube_uploads SET state = %s, message = %s, waiting_until = %s, updated_at = now()"
            " WHERE item = %s",
            (state, message, until, item),
        )
        self.conn.commit()


def of_production(conn: Conn, production_id: int) -> list[dict]:
    """The production's items on YouTube, long-form first: state, video id and link, publish time, steps."""
    rows = conn.execute(
        "SELECT item, kind, state, video_id, publish_at, privacy, waiting_until, message, steps, details,"
        " progress_bytes, size_bytes FROM youtube_uploads WHERE production_id = %s ORDER BY kind, item",
        (production_id,),
    ).fetchall()
    out = []
    for r in rows:
        r = dict(r)
        r["url"] = f"https://youtu.be/{r['video_id']}" if r["video_id"] else None
        out.append(r)
    return out
