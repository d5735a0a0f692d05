"""Needs attention: the error's kind and what to do, the alert each failure raises, and what clears a mark."""

from __future__ import annotations

import pytest

from pipelines import attention
from pipelines.db import connect
from pipelines.errors import NoFacts, TransientError


def raised(exc: Exception, wrap: bool = True) -> BaseException:
    """`exc` as a task sees it: raised, and (for permanent errors) wrapped the way run_stage fails a task."""
    try:
        try:
            raise exc
        except Exception as e:
            if wrap:
                raise RuntimeError(f"{e} [not retried: retrying cannot help]") from e
            raise
    except Exception as outer:
        return outer


def test_each_kind_of_error_is_named_with_what_to_do():
    from pipelines.providers.http import ProviderRejected
    from pipelines.providers.publish.youtube import TokenRevoked

    down = raised(TransientError("Groq answered 503 after 3 attempts"), wrap=False)
    assert attention.categorize(down) == "transient"
    assert "a service it needs is down" in attention.advice("transient", "script", "science_en", down, 3)
    key = raised(ProviderRejected("pexels", 401, "refused the key: set pexels_default"))
    assert attention.categorize(key) == "permanent"
    assert (
        attention.root_message(key)
        == "ProviderRejected: pexels (HTTP 401): refused the key: set pexels_default"
    )
    facts = raised(NoFacts("nothing on 'basket weaving': add a source document"))
    assert attention.categorize(facts) == "data_quality"
    token = raised(TokenRevoked("youtube", 400, "invalid_grant"))
    assert "nicheflow youtube connect science_en" in attention.advice(
        "permanent", "publish", "science_en", token, 1
    )
    assert attention.categorize(ValueError("a bug")) == "transient"  # anything unbranched was retried


@pytest.mark.parametrize(
    ("task_id", "exc", "level", "key"),
    [
        ("script", TransientError("Groq down"), "critical", "provider_down:script"),
        ("publish", TransientError("YouTube 500"), "critical", "upload_failed:publish"),
        ("publish", "revoked", "critical", "token_revoked"),
        ("script", NoFacts("nothing"), "warning", "needs_attention:script:data_quality"),
    ],
)
def test_the_failure_raises_the_alert_of_its_kind(database, task_id, exc, level, key):
    from pipelines.providers.publish.youtube import TokenRevoked

    exc = raised(TokenRevoked("youtube", 400, "invalid_grant") if exc == "revoked" else exc)
    with connect() as conn:
        mark, alert_id = attention.mark_failed(
            conn,
            channel="science_en",
            dag_id="longform_science_en",
            dag_run_id="r1",
            task_id=task_id,
            exc=exc,
            tries=3,
        )
        row = conn.execute("SELECT level, key, body FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    assert (row["level"], row["key"]) == (level, key)
    assert mark.advice in row["body"]


def test_reject_ends_the_production_and_clears_its_marks(database):
    with connect() as conn:
        pid = conn.execute(
            "INSERT INTO productions (channel, topic, dag_run_id, workspace) VALUES ('science_en', 'X', 'r1', '') "
            "RETURNING id"
        ).fetchone()["id"]
        mark, _ = attention.mark_failed(
            conn,
            channel="science_en",
            dag_id="longform_science_en",
            dag_run_id="r1",
            task_id="audio",
            exc=raised(TransientError("Azure down"), wrap=False),
            tries=3,
        )
        assert mark.production_id == pid and mark.stage == "audio"
        with pytest.raises(ValueError, match="a reason is required"):
            attention.reject(conn, mark.id, "editor", " ")
        done = attention.reject(conn, mark.id, "editor", "off-topic")
        assert done.cleared_because == "rejected" and attention.listing(conn) == []
        assert (
            conn.execute("SELECT status FROM productions WHERE id = %s", (pid,)).fetchone()["status"]
            == "rejected"
        )
