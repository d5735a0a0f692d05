"""Where alerts go: the deployment's settings (environment variables, read where the alert is sent) and a
channel's `alerts:` section in its YAML, which overrides them field by field.

Secrets never live here: the SMTP server and its password are an Airflow connection (`smtp_default`, or
NICHEFLOW_ALERT_SMTP_CONN), the webhook URL (whose path is its token) the password of another."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import time as TimeOfDay
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Level = Literal["critical", "warning", "info"]
LEVELS: tuple[Level, ...] = ("info", "warning", "critical")  # ascending
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EMAIL = re.compile(r"^[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+$")
CONN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")


def at_least(level: str, minimum: str) -> bool:
    """True when `level` is `minimum` or more severe (info < warning < critical)."""
    return LEVELS.index(level) >= LEVELS.index(minimum)


class AlertConfigError(ValueError):
    """A deployment alert setting that cannot be used; the message names the variable and what is allowed."""


class ChannelAlerts(BaseModel):
    """The channel YAML's `alerts:` section; every field left out (null) takes the deployment's setting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: list[str] | None = Field(
        None, description="recipients, replacing the deployment's NICHEFLOW_ALERT_EMAIL; [] = no e-mail"
    )
    webhook: str | None = Field(
        None,
        description="Airflow connection id whose password is a Slack-compatible webhook URL, replacing "
        "NICHEFLOW_ALERT_WEBHOOK_CONN; `none` = no webhook",
    )
    min_level: Level | None = Field(
        None, description="the least severe level sent: info, warning or critical (NICHEFLOW_ALERT_MIN_LEVEL)"
    )
    summary_time: TimeOfDay | Literal["off"] | None = Field(
        None,
        description="local time (the channel's timezone) of the daily summary (NICHEFLOW_ALERT_SUMMARY_TIME); "
        "off = none",
    )
    weekly_report: Weekday | Literal["off"] | None = Field(
        None,
        description="weekday of the weekly report, sent at summary_time (NICHEFLOW_ALERT_WEEKLY); off = none",
    )

    @field_validator("summary_time", "weekly_report", mode="before")
    @classmethod
    def _off(cls, v: object) -> object:
        return "off" if v is False else v  # YAML reads a bare `off` as false

    @field_validator("email")
    @classmethod
    def _emails(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (wrong := [a for a in v if not EMAIL.match(a)]):
            raise ValueError(f"{wrong[0]!r} is not an e-mail address (name@example.org)")
        return v

    @field_validator("webhook")
    @classmethod
    def _conn_id(cls, v: str | None) -> str | None:
        if v is not None and not CONN_ID.match(v):
            raise ValueError(f"{v!r} is not an Airflow connection id (letters, digits, _ . -), or none")
        return v


@dataclass(frozen=True)
class Deployment:
    """The deployment's alert settings (from the environment, see `deployment()`)."""

    email: tuple[str, ...] = ()
    smtp_conn: str = "smtp_default"
    sender: str | None = None
    webhook: str | None = None
    min_level: Level = "info"
    summary_time: TimeOfDay | None = TimeOfDay(8, 0)
    weekly_report: str | None = "monday"
    collapse_minutes: float = 10.0


def _env(name: str) -> str | None:
    v = os.environ.get(name, "").strip()
    return v or None


def deployment() -> Deployment:
    """The settings of this deployment, from NICHEFLOW_ALERT_* variables; AlertConfigError names a bad one."""
    d = Deployment()
    emails = tuple(a.strip() for a in (_env("NICHEFLOW_ALERT_EMAIL") or "").split(",") if a.strip())
    if wrong := [a for a in emails if not EMAIL.match(a)]:
        raise AlertConfigError(
            f"NICHEFLOW_ALERT_EMAIL: {wrong[0]!r} is not an e-mail address (comma-separated)"
        )
    level = _env("NICHEFLOW_ALERT_MIN_LEVEL") or d.min_level
    if level not in LEVELS:
        raise AlertConfigError(f"NICHEFLOW_ALERT_MIN_LEVEL: {level!r}; use info, warning or critical")
    summary: TimeOfDay | None = d.summary_time
    if raw := _env("NICHEFLOW_ALERT_SUMMARY_TIME"):
        try:
            summary = None if raw == "off" else TimeOfDay.fromisoformat(raw)
        except ValueError:
            raise AlertConfigError(
                f"NICHEFLOW_ALERT_SUMMARY_TIME: {raw!r}; use HH:MM (e.g. 08:00) or off"
            ) from None
    weekly = _env("NICHEFLOW_ALERT_WEEKLY") or d.weekly_report
    if weekly not in (*WEEKDAYS, "off"):
        raise AlertConfigError(
            f"NICHEFLOW_ALERT_WEEKLY: {weekly!r}; use a weekday (monday ... sunday) or off"
        )
    try:
        collapse = float(_env("NICHEFLOW_ALERT_COLLAPSE_MINUTES") or d.collapse_minutes)
    except ValueError:
        collapse = -1
    if not 0 < collapse <= 24 * 60:
        raise AlertConfigError("NICHEFLOW_ALERT_COLLAPSE_MINUTES: give minutes between 0 and 1440, e.g. 10")
    webhook = _env("NICHEFLOW_ALERT_WEBHOOK_CONN")
    for name, conn in (
        ("NICHEFLOW_ALERT_WEBHOOK_CONN", webhook),
        ("NICHEFLOW_ALERT_SMTP_CONN", _env("NICHEFLOW_ALERT_SMTP_CONN")),
    ):
        if conn is not None and not CONN_ID.match(conn):
            raise AlertConfigError(f"{name}: {conn!r} is not an Airflow connection id")
    return Deployment(
        email=emails,
        smtp_conn=_env("NICHEFLOW_ALERT_SMTP_CONN") or d.smtp_conn,
        sender=_env("NICHEFLOW_ALERT_FROM"),
        webhook=webhook,
        min_level=level,
        summary_time=summary,
        weekly_report=None if weekly == "off" else weekly,
        collapse_minutes=collapse,
    )


@dataclass(frozen=True)
class Destination:
    """Where one message goes: e-mail to `to` through the SMTP connection `conn`, or the webhook whose URL is
    the connection `conn`'s."""

    kind: Literal["email", "webhook"]
    conn: str
    to: tuple[str, ...] = ()
    sender: str | None = None

    @property
    def name(self) -> str:
        """How deliveries record it (no secret: addresses and a connection id)."""
        return f"email:{','.join(self.to)}" if self.kind == "email" else f"webhook:{self.conn}"


@dataclass(frozen=True)
class Route:
    """A channel's alert settings, the deployment's with the channel's overrides applied."""

    destinations: tuple[Destination, ...]
    min_level: Level
    summary_time: TimeOfDay | None
    weekly_report: str | None

    def wants(self, level: str) -> bool:
        return bool(self.destinations) and at_least(level, self.min_level)


def route(dep: Deployment, ch: ChannelAlerts | None) -> Route:
    """`dep` with the channel's overrides."""
    ch = ch or ChannelAlerts()
    to = tuple(ch.email) if ch.email is not None else dep.email
    webhook = dep.webhook if ch.webhook is None else (None if ch.webhook == "none" else ch.webhook)
    dests: list[Destination] = []
    if to:
        dests.append(Destination("email", dep.smtp_conn, to, dep.sender))
    if webhook:
        dests.append(Destination("webhook", webhook))
    summary = dep.summary_time if ch.summary_time is None else ch.summary_time
    weekly = dep.weekly_report if ch.weekly_report is None else ch.weekly_report
    return Route(
        destinations=tuple(dests),
        min_level=ch.min_level or dep.min_level,
        summary_time=summary if isinstance(summary, TimeOfDay) else None,
        weekly_report=None if weekly == "off" else weekly,
    )
