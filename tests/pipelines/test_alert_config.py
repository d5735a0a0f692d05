"""The deployment's alert settings come from NICHEFLOW_ALERT_* (a bad one is named), and a channel's `alerts:`
section overrides them field by field."""

from __future__ import annotations

from datetime import time

import pytest

from pipelines.alert_config import AlertConfigError, ChannelAlerts, deployment, route


def test_the_deployment_settings_and_a_channels_overrides(monkeypatch):
    monkeypatch.setenv("NICHEFLOW_ALERT_EMAIL", "ops@example.org, oncall@example.org")
    monkeypatch.setenv("NICHEFLOW_ALERT_WEBHOOK_CONN", "slack_ops")
    monkeypatch.setenv("NICHEFLOW_ALERT_SUMMARY_TIME", "07:30")
    dep = deployment()
    r = route(dep, None)
    assert [d.name for d in r.destinations] == [
        "email:ops@example.org,oncall@example.org",
        "webhook:slack_ops",
    ]
    assert (r.min_level, r.summary_time, r.weekly_report) == ("info", time(7, 30), "monday")
    r = route(dep, ChannelAlerts(email=[], webhook="slack_science", min_level="warning", summary_time="off"))
    assert [d.name for d in r.destinations] == ["webhook:slack_science"]
    assert r.wants("critical") and not r.wants("info") and r.summary_time is None


@pytest.mark.parametrize(
    ("var", "value", "says"),
    [
        ("NICHEFLOW_ALERT_MIN_LEVEL", "loud", "use info, warning or critical"),
        ("NICHEFLOW_ALERT_EMAIL", "ops", "'ops' is not an e-mail address"),
        ("NICHEFLOW_ALERT_SUMMARY_TIME", "8am", "use HH:MM"),
        ("NICHEFLOW_ALERT_WEEKLY", "someday", "use a weekday"),
        ("NICHEFLOW_ALERT_COLLAPSE_MINUTES", "0", "give minutes between 0 and 1440"),
    ],
)
def test_a_bad_setting_is_named(monkeypatch, var, value, says):
    monkeypatch.setenv(var, value)
    with pytest.raises(
        AlertConfigError, match=f"{var}: .*{says}" if var != "NICHEFLOW_ALERT_COLLAPSE_MINUTES" else says
    ):
        deployment()
