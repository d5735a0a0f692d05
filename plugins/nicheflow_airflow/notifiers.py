"""Airflow's side of alerts: the notifiers that deliver pipelines.alerts messages, and the task callbacks of
the channel DAGs.

- E-mail goes through the smtp provider's `SmtpNotifier` and the SMTP connection (`smtp_default`, or
  NICHEFLOW_ALERT_SMTP_CONN): host, port, login, password, `from_email` and TLS settings live there.
- `WebhookNotifier` posts Slack-compatible JSON (`{"text": ..., "blocks": [...]}`) to the URL held in a
  connection's password (the URL's path is its token: it is never logged, stored or shown in an error).
- `task_failed` (on_failure_callback: after the last retry) marks the production needs attention and sends
  its alert at once; `task_succeeded` (on_success_callback) clears a mark the task had."""

from __future__ import annotations

import html
import logging
from typing import Any

from airflow.sdk import BaseNotifier

from pipelines.alert_config import Destination
from pipelines.alerts import Message

log = logging.getLogger(__name__)

LEVEL_EMOJI = {"critical": ":red_circle:", "warning": ":warning:", "info": ":information_source:"}


class WebhookError(RuntimeError):
    """The webhook could not be reached or refused the message (the message never holds its URL)."""


def webhook_url(conn_id: str) -> str:
    """The webhook URL of connection `conn_id`: its password (or, for a URL without a secret, its host)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    for value in (conn.password, conn.host):
        if value and value.startswith(("https://", "http://")):
            return value
    raise WebhookError(
        f"connection {conn_id} holds no webhook URL: set its password to the URL "
        "(https://hooks.slack.com/services/...)"
    )


class WebhookNotifier(BaseNotifier):
    """Posts `text` (and optional Slack `blocks`) as JSON to the webhook of connection `webhook_conn_id`.
    Not templated: an alert's text is sent as it is."""

    template_fields = ()

    def __init__(
        self, webhook_conn_id: str, text: str, blocks: list[dict] | None = None, timeout: float = 15
    ):
        super().__init__()
        self.webhook_conn_id = webhook_conn_id
        self.text = text
        self.blocks = blocks
        self.timeout = timeout

    def notify(self, context: Any) -> None:
        """Send it; WebhookError (naming the connection, never the URL) when it did not arrive."""
        import httpx

        url = webhook_url(self.webhook_conn_id)
        payload: dict[str, Any] = {"text": self.text}
        if self.blocks:
            payload["blocks"] = self.blocks
        try:
            resp = httpx.post(url, json=payload, timeout=self.timeout)
        except httpx.HTTPError as e:
            raise WebhookError(f"webhook {self.webhook_conn_id} unreachable ({type(e).__name__})") from None
        if resp.status_code >= 300:
            raise WebhookError(
                f"webhook {self.webhook_conn_id} answered {resp.status_code}: {resp.text[:200]}"
            )


def blocks(msg: Message) -> list[dict]:
    """The message as Slack blocks: a header line and the text."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{LEVEL_EMOJI[msg.level]} *{msg.subject}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": msg.text[:2900] or "-"}},
    ]


def email_html(msg: Message) -> str:
    return (
        f"<p><b>{html.escape(msg.subject)}</b></p>"
        f'<pre style="font-family: sans-serif; white-space: pre-wrap">{html.escape(msg.text)}</pre>'
    )


def deliver(msg: Message, dest: Destination) -> None:
    """Send one message to one destination (pipelines.alerts.Deliver); raises when it did not go out."""
    if dest.kind == "webhook":
        WebhookNotifier(dest.conn, f"{msg.subject}\n{msg.text}", blocks(msg)).notify({})
        return
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    SmtpNotifier(
        to=list(dest.to),
        from_email=dest.sender,
        subject=msg.subject,
        html_content=email_html(msg),
        smtp_conn_id=dest.conn,
        custom_headers={"X-Nicheflow-Alert": str(msg.alert_id), "X-Nicheflow-Level": msg.level},
    ).notify({})


def dispatch(only: list[int] | None = None) -> int:
    """Send what is due (or just the rows `only`); returns how many messages went out."""
    from pipelines import alerts
    from pipelines.db import connect

    with connect() as conn:
        return len(alerts.dispatch(conn, deliver, only=only))


def channel_of(dag_id: str) -> str:
    """longform_<channel> / shorts_<channel> -> channel."""
    for prefix in ("longform_", "shorts_"):
        if dag_id.startswith(prefix):
            return dag_id.removeprefix(prefix)
    return dag_id


def _production_of(context: Any) -> int | None:
    """A Shorts run's production, from the asset event that started it (a long-form run's is found by its
    run id)."""
    try:
        for events in context.get("triggering_asset_events", {}).values():
            for event in events:
                return int(event.extra["production_id"])
    except Exception:  # not an asset-triggered run, or an event without the id
        return None
    return None


def task_failed(context: Any) -> None:
    """on_failure_callback: the task failed after its last retry."""
    from pipelines import attention
    from pipelines.db import connect

    ti = context["ti"]
    with connect() as conn:
        _, alert_id = attention.mark_failed(
            conn,
            channel=channel_of(ti.dag_id),
            dag_id=ti.dag_id,
            dag_run_id=ti.run_id,
            task_id=ti.task_id,
            exc=context.get("exception"),
            tries=int(ti.try_number or 1),
            production_id=_production_of(context) if ti.dag_id.startswith("shorts_") else None,
        )
    dispatch(only=[alert_id])


def task_succeeded(context: Any) -> None:
    """on_success_callback: a needs-attention mark of this task (from a failed earlier try) is cleared."""
    from pipelines import attention
    from pipelines.db import connect

    ti = context["ti"]
    with connect() as conn:
        if attention.task_succeeded(conn, ti.dag_id, ti.run_id, ti.task_id):
            log.info("%s succeeded: its needs-attention mark is cleared", ti.task_id)
