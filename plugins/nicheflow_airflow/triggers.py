"""CheckpointTrigger: waits in the triggerer, polling the checkpoint's row in PostgreSQL asynchronously."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

log = logging.getLogger(__name__)


class CheckpointTrigger(BaseTrigger):
    """Fires once the checkpoint is no longer pending. Serialises to plain kwargs (no credentials: the
    database URL is read from the triggerer's environment at run time)."""

    def __init__(self, checkpoint_id: int, poll_seconds: float = 15.0):
        super().__init__()
        self.checkpoint_id = int(checkpoint_id)
        self.poll_seconds = float(poll_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("nicheflow_airflow.triggers.CheckpointTrigger",
                {"checkpoint_id": self.checkpoint_id, "poll_seconds": self.poll_seconds})

    async def _status(self, conn) -> str | None:
        cur = await conn.execute("SELECT status FROM nicheflow.checkpoints WHERE id = %s", (self.checkpoint_id,))
        row = await cur.fetchone()
        return row[0] if row else None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        import psycopg

        from pipelines.db import database_url

        conn = None
        while True:
            try:
                if conn is None or conn.closed:
                    conn = await psycopg.AsyncConnection.connect(database_url(), autocommit=True)
                status = await self._status(conn)
            except psycopg.OperationalError as e:  # database restarting: keep waiting, nothing is lost
                log.warning("checkpoint %s: database unavailable (%s); retrying", self.checkpoint_id, e)
                conn = None
                status = "pending"
            if status is None:
                yield TriggerEvent({"checkpoint_id": self.checkpoint_id, "status": "missing"})
                break
            if status != "pending":
                yield TriggerEvent({"checkpoint_id": self.checkpoint_id, "status": status})
                break
            await asyncio.sleep(self.poll_seconds)
        if conn is not None:
            await conn.close()
