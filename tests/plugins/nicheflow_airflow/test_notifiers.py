"""Alerts reach a real SMTP server and a real webhook receiver on loopback, each once; identical alerts are
collapsed into one message and a digest with the count; each channel's overrides route the levels; the daily
summary goes out once at each channel's local time."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta

import pytest

from pipelines import alerts, summaries
from pipelines.alert_config import deployment
from pipelines.alerts import Alert
from pipelines.config import load_all
from pipelines.db import connect
from pipelines.paths import REPO
from tests.helpers import edit_yaml
from tests.helpers.alert_receivers import smtp_server, webhook_receiver

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; pytest does not

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)  # a Monday in winter: London is UTC, Sao Paulo UTC-3


@pytest.fixture
def receivers(monkeypatch, database):
    with smtp_server() as smtp, webhook_receiver() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_ALERTS", smtp.conn_json())
        monkeypatch.setenv("AIRFLOW_CONN_ALERTS_HOOK", hook.conn_json())
        monkeypatch.setenv("NICHEFLOW_ALERT_SMTP_CONN", "smtp_alerts")
        monkeypatch.setenv("NICHEFLOW_ALERT_WEBHOOK_CONN", "alerts_hook")
        monkeypatch.setenv("NICHEFLOW_ALERT_EMAIL", "ops@example.org")
        yield smtp, hook


def send(now: datetime) -> list[alerts.Message]:
    from nicheflow_airflow.notifiers import deliver

    with connect() as conn:
        return alerts.dispatch(conn, deliver, now=now)


def raise_(alert: Alert, now: datetime) -> int:
    with connect() as conn:
        return alerts.raise_alert(conn, alert, now=now)


def failure(channel: str = "science_en", level="critical", key="provider_down:script") -> Alert:
    return Alert(level, key, "script failed after 3 tries: Groq answered 503", "Groq is down.", channel)


def test_an_alert_reaches_email_and_webhook_once_and_no_secret_is_logged(receivers, configs, caplog):
    smtp, hook = receivers
    caplog.set_level(logging.DEBUG)
    raise_(failure(), T0)
    assert len(send(T0)) == 1
    assert send(T0 + timedelta(minutes=1)) == [] and send(T0 + timedelta(hours=1)) == []  # sent once

    [mail] = smtp.mails
    assert mail.to == ["ops@example.org"] and mail.sender == "nicheflow@example.org"
    assert mail.subject == "[CRITICAL] science_en: script failed after 3 tries: Groq answered 503"
    assert "Groq is down." in mail.text
    assert smtp.logins == ["alerts"]  # the connection's login and password were used
    [post] = hook.posts
    assert post["text"].startswith("[CRITICAL] science_en: script failed")
    assert [b["type"] for b in post["blocks"]] == ["section", "section"]

    with connect() as conn:
        rows = conn.execute(
            "SELECT a.*, d.destination FROM alerts a JOIN alert_deliveries d ON d.alert_id = a.id"
        )
        stored = repr(rows.fetchall())
    assert "webhook:alerts_hook" in stored and "email:ops@example.org" in stored
    for secret in (smtp.password, hook.token):
        assert secret not in caplog.text and secret not in stored


def test_five_identical_failures_are_one_message_then_a_digest_with_the_count(receivers, configs):
    smtp, hook = receivers
    raise_(failure(), T0)
    assert [m.subject for m in send(T0)] == [
        "[CRITICAL] science_en: script failed after 3 tries: Groq answered 503"
    ]
    for minute in range(1, 5):  # four more within the window: counted, not sent
        raise_(failure(), T0 + timedelta(minutes=minute))
    assert send(T0 + timedelta(minutes=5)) == []
    [digest] = send(T0 + timedelta(minutes=11))  # a window after the message: one digest
    assert digest.subject.endswith("(4 more times)") and "5 in all" in digest.text
    assert send(T0 + timedelta(minutes=30)) == []
    assert len(smtp.mails) == 2 and len(hook.posts) == 2
    with connect() as conn:
        assert conn.execute("SELECT count(*) AS n, sum(count) AS c FROM alerts").fetchone() == {
            "n": 1,
            "c": 5,
        }

    # five at once before any dispatch: one message that says five
    other = failure(key="provider_down:audio")
    for second in range(5):
        raise_(other, T0 + timedelta(hours=2, seconds=second))
    [msg] = send(T0 + timedelta(hours=2, minutes=1))
    assert msg.subject.endswith("(5 times)") and "Collapsed: 5 identical alerts" in msg.text
    # after a quiet window, the same failure is news again
    raise_(other, T0 + timedelta(hours=3))
    assert [m.digest for m in send(T0 + timedelta(hours=3))] == [False]


def test_levels_are_routed_by_each_channels_overrides(receivers, configs):
    smtp, hook = receivers
    edit_yaml(
        configs / "science_en.yaml", {"alerts.min_level": "critical", "alerts.email": ["science@example.org"]}
    )
    edit_yaml(configs / "historia_ptbr.yaml", {"alerts.webhook": "none", "alerts.min_level": "warning"})
    for channel in ("science_en", "historia_ptbr"):
        raise_(failure(channel), T0)
        raise_(failure(channel, "warning", "slow_render:1"), T0)
        raise_(failure(channel, "info", "note"), T0)
    send(T0)
    assert [m.subject.split("]")[0] for m in smtp.to("science@example.org")] == ["[CRITICAL"]
    assert sorted(m.subject.split("]")[0] for m in smtp.to("ops@example.org")) == ["[CRITICAL", "[WARNING"]
    assert all("historia_ptbr" in m.subject for m in smtp.to("ops@example.org"))
    assert [p["text"].split("\n")[0] for p in hook.posts] == [
        "[CRITICAL] science_en: script failed after 3 tries: Groq answered 503"
    ]
    with connect() as conn:  # what was below a channel's level is recorded, not sent
        kept = conn.execute(
            "SELECT channel, level FROM alerts WHERE suppressed ORDER BY channel, level"
        ).fetchall()
    assert [tuple(r.values()) for r in kept] == [
        ("historia_ptbr", "info"),
        ("science_en", "info"),
        ("science_en", "warning"),
    ]


def test_the_daily_summary_goes_out_once_at_each_channels_local_time(receivers, configs):
    smtp, _ = receivers
    for name in ("science_en", "historia_ptbr"):  # London and Sao Paulo, both at 08:00 local
        edit_yaml(configs / f"{name}.yaml", {"alerts.summary_time": "08:00", "alerts.weekly_report": "off"})
    with connect() as conn:
        conn.execute(
            "INSERT INTO productions (channel, topic, dag_run_id, workspace, status, updated_at) VALUES "
            "('science_en', 'The Hubble Space Telescope', 'r1', '', 'published', %s)",
            (T0 - timedelta(hours=5),),
        )
    raise_(failure(), T0 - timedelta(hours=3))
    raise_(failure(), T0 - timedelta(hours=3) + timedelta(minutes=2))

    def tick(at: datetime) -> list[str]:  # one ops run: raise what is due, then send
        with connect() as conn:
            summaries.due(conn, load_all().configs.values(), deployment(), at)
        return [m.channel for m in send(at) if m.level == "info"]

    day = T0.replace(hour=0)
    assert tick(day + timedelta(hours=7, minutes=55)) == []
    assert tick(day + timedelta(hours=8)) == ["science_en"]  # 08:00 in London
    assert tick(day + timedelta(hours=8, minutes=5)) == []  # once, however often the ops DAG runs
    assert tick(day + timedelta(hours=10, minutes=55)) == []
    assert tick(day + timedelta(hours=11, minutes=2)) == ["historia_ptbr"]  # 08:00 in Sao Paulo
    assert tick(day + timedelta(hours=23)) == []  # e.g. after a scheduler restart: still once
    assert tick(day + timedelta(days=1, hours=8)) == ["science_en"]  # the next day's

    [first, _] = [m for m in smtp.mails if "science_en: daily summary" in m.subject]
    assert "daily summary 2026-01-12" in first.subject
    assert "Published: 1\n- production 1: The Hubble Space Telescope" in first.text
    assert "critical: script failed after 3 tries: Groq answered 503 (x2, collapsed)" in first.text


def test_a_webhook_that_fails_is_tried_again_without_sending_the_email_twice(receivers, configs):
    smtp, hook = receivers
    hook.status = 500
    raise_(failure(), T0)
    assert send(T0) == []  # the e-mail went, the webhook did not
    with connect() as conn:
        row = conn.execute("SELECT attempts, last_error FROM alerts").fetchone()
    assert (
        row["attempts"] == 1
        and "webhook:alerts_hook" in row["last_error"]
        and hook.token not in row["last_error"]
    )
    hook.status = 200
    assert len(send(T0 + timedelta(minutes=1))) == 1
    assert len(smtp.mails) == 1 and len(hook.posts) == 1


def test_a_bad_alerts_section_is_refused_naming_the_field(configs):
    from pipelines.config import ConfigError, load_config

    edit_yaml(configs / "science_en.yaml", {"alerts.min_level": "loud"})
    with pytest.raises(ConfigError, match=r"alerts\.min_level"):
        load_config(configs / "science_en.yaml")
    edit_yaml(configs / "science_en.yaml", {"alerts.min_level": "info", "alerts.email": ["not-an-address"]})
    with pytest.raises(ConfigError, match="'not-an-address' is not an e-mail address"):
        load_config(configs / "science_en.yaml")
