"""Triggers (they wait in the triggerer, holding no worker slot): CheckpointTrigger waits for a checkpoint's
decision in PostgreSQL asynchronously (woken at once by the decision's NOTIFY, with a poll as the fallback);
UntilTrigger waits until a time of the project's clock (pipelines.clock)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

log = logging.getLogger(__name__)


class CheckpointTrigger(BaseTrigger):
    """Fires once the checkpoint is no longer pending. It LISTENs on pipelines.checkpoints.NOTIFY_CHANNEL,
    on which every decision is announced when it commits, so the production resumes at once; it also looks
    at the row every `poll_seconds`, so a notification that never came (a dropped connection, a decision
    written by hand) only delays it. `listen=False` polls only. Serialises to plain kwargs (no credentials:
    the database URL is read from the triggerer's environment at run time)."""

    def __init__(
        self,
        checkpoint_id: int,
        poll_seconds: float = 15.0,
        timeout_seconds: float = 48 * 3600,
        reminder_seconds: float = 12 * 3600,
        listen: bool = True,
    ):
        super().__init__()
        self.checkpoint_id = int(checkpoint_id)
        self.poll_seconds = float(poll_seconds)
        self.timeout_seconds = float(timeout_seconds)
        self.reminder_seconds = float(reminder_seconds)
        self.listen = bool(listen)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "nicheflow_airflow.triggers.CheckpointTrigger",
            {
                "checkpoint_id": self.checkpoint_id,
                "poll_seconds": self.poll_seconds,
                "timeout_seconds": self.timeout_seconds,
                "reminder_seconds": self.reminder_seconds,
                "listen": self.listen,
            },
        )

    async def _status(self, conn) -> str | None:
        from pipelines import logfields

        cur = await conn.execute(
            "SELECT status, channel, production_id, stage FROM nicheflow.checkpoints WHERE id = %s",
            (self.checkpoint_id,),
        )
        row = await cur.fetchone()
        if row:  # the trigger's own lines name its production (this coroutine's context only)
            logfields.bind(channel=row[1], production_id=row[2], stage=f"review_{row[3]}")
        if row and row[0] == "pending":
            await self._limits(conn)
        return row[0] if row else None

    async def _limits(self, conn) -> None:
        """Past the timeout the production is marked stalled (and resumes when decided); every reminder
        interval the wait is logged and counted on the row."""
        cur = await conn.execute(
            """UPDATE nicheflow.productions p SET status = 'stalled', updated_at = now()
                 FROM nicheflow.checkpoints c
                WHERE c.id = %s AND p.id = c.production_id AND p.status = 'running'
                  AND c.created_at < now() - make_interval(secs => %s) RETURNING p.id""",
            (self.checkpoint_id, self.timeout_seconds),
        )
        if await cur.fetchone():
            log.warning(
                "checkpoint %s waited past its timeout (%.0f s): production marked stalled",
                self.checkpoint_id,
                self.timeout_seconds,
            )
        cur = await conn.execute(
            """UPDATE nicheflow.checkpoints SET reminders = reminders + 1, last_reminder_at = now()
                WHERE id = %s AND coalesce(last_reminder_at, created_at) < now() - make_interval(secs => %s)
            RETURNING reminders, stage, channel""",
            (self.checkpoint_id, self.reminder_seconds),
        )
        if row := await cur.fetchone():
            log.warning(
                "reminder %s: %s checkpoint %s of channel %s is waiting for a decision "
                "(`nicheflow pending`, or the Review page)",
                row[0],
                row[1],
                self.checkpoint_id,
                row[2],
            )

    async def _wait(self, conn) -> None:
        """Until a notification names this checkpoint, or `poll_seconds` pass. Notifications that came while
        the row was being read are kept by psycopg and seen here first, so none falls between the two."""
        if not self.listen:
            await asyncio.sleep(self.poll_seconds)
            return
        async for note in conn.notifies(timeout=self.poll_seconds):
            if note.payload == str(self.checkpoint_id):
                return

    async def run(self) -> AsyncIterator[TriggerEvent]:
        import psycopg

        from pipelines.checkpoints import NOTIFY_CHANNEL
        from pipelines.db import database_url

        conn = None
        while True:
            try:
                if conn is None or conn.closed:
                    conn = await psycopg.AsyncConnection.connect(database_url(), autocommit=True)
                    if self.listen:  # before reading the row: a decision after the read is then heard
                        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                status = await self._status(conn)
            except psycopg.OperationalError as e:  # database restarting: keep waiting, nothing is lost
                log.warning("checkpoint %s: database unavailable (%s); retrying", self.checkpoint_id, e)
                conn = None
                await asyncio.sleep(self.poll_seconds)
                continue
            if status is None:
                yield TriggerEvent({"checkpoint_id": self.checkpoint_id, "status": "missing"})
                break
            if status != "pending":
                yield TriggerEvent({"checkpoint_id": self.checkpoint_id, "status": status})
                break
            try:
                await self._wait(conn)
            except psycopg.OperationalError as e:
                log.warning("checkpoint %s: lost the database while waiting (%s)", self.checkpoint_id, e)
                conn = None
        if conn is not None:
            await conn.close()


class UntilTrigger(BaseTrigger):
    """Fires once the project's clock (pipelines.clock.now, which tests can shift) reaches `until`, an ISO
    time with its zone: when YouTube's quota is back. Looks again at most every `check_seconds`, so a
    shifted clock is followed."""

    def __init__(self, until: str, check_seconds: float = 10.0):
        super().__init__()
        self.until = until
        self.check_seconds = float(check_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "nicheflow_airflow.triggers.UntilTrigger",
            {"until": self.until, "check_seconds": self.check_seconds},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from datetime import datetime

        from pipelines import clock

        until = datetime.fromisoformat(self.until)
        while (left := (until - clock.now()).total_seconds()) > 0:
            await asyncio.sleep(min(left, self.check_seconds))
        yield TriggerEvent({"until": self.until})
