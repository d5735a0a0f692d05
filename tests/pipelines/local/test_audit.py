"""The dependency audit of `make lint` (pipelines/local/audit.py): real pip-audit over a pinned lock, against
an OSV snapshot served on loopback, with no network. A pinned version an advisory covers is reported with its
fixed version and fails; one fixed before the pin passes; no snapshot is a skip that says nothing was
audited (a failure when required)."""

from __future__ import annotations

import json

import pytest

from pipelines.local import audit


def advisory(ident: str, package: str, events: list[dict], versions: list[str] | None = None) -> dict:
    return {
        "schema_version": "1.6.0",
        "id": ident,
        "modified": "2026-11-30T00:00:00Z",
        "summary": f"{ident} in {package}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                "versions": versions or [],
            }
        ],
    }


@pytest.fixture
def snapshot(tmp_path):
    d = tmp_path / "osv"
    d.mkdir()
    records = [
        advisory("PYSEC-T-1", "HTTPX", [{"introduced": "0"}, {"fixed": "0.28.2"}]),  # covers 0.28.1
        advisory("PYSEC-T-2", "jinja2", [{"introduced": "0"}, {"fixed": "3.1.5"}]),  # fixed before the pin
        advisory("PYSEC-T-3", "pyyaml", [{"introduced": "7.0"}]),  # introduced after the pin
    ]
    for r in records:
        (d / f"{r['id']}.json").write_text(json.dumps(r))
    return d


@pytest.fixture
def lock(tmp_path):
    p = tmp_path / "requirements.txt"
    p.write_text("# pinned\nhttpx==0.28.1\nJinja2==3.1.6\nPyYAML==6.0.4\n")
    return p


def test_ranges_follow_osv():
    a = advisory(
        "X", "p", [{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"last_affected": "2.1"}]
    )
    affected = a["affected"][0]
    assert [
        v for v in ("0.9", "1.0", "1.1.5", "1.2", "1.9", "2.0", "2.1", "2.2") if audit._affects(affected, v)
    ] == [
        "1.0",
        "1.1.5",
        "2.0",
        "2.1",
    ]
    assert audit._affects(advisory("Y", "p", [], versions=["0.5"])["affected"][0], "0.5")


def test_a_pinned_version_with_an_advisory_fails_the_audit(snapshot, lock, monkeypatch, capfd):
    monkeypatch.setenv("NICHEFLOW_AUDIT_DB", str(snapshot))
    monkeypatch.delenv("NICHEFLOW_AUDIT_OSV_URL", raising=False)
    assert audit.main([str(lock)]) == 1
    out = capfd.readouterr().out
    assert "against 3 PyPI advisories" in out and "offline" in out
    assert "PYSEC-T-1" in out and "0.28.2" in out  # the advisory and the version that fixes it
    assert "PYSEC-T-2" not in out and "PYSEC-T-3" not in out


def test_no_known_vulnerability_passes(snapshot, lock, monkeypatch, capfd):
    monkeypatch.setenv("NICHEFLOW_AUDIT_DB", str(snapshot))
    lock.write_text("Jinja2==3.1.6\nPyYAML==6.0.4\n")
    assert audit.main([str(lock)]) == 0
    out = capfd.readouterr()
    assert "No known vulnerabilities found" in out.out + out.err


def test_without_advisory_data_it_says_it_did_not_audit(tmp_path, lock, monkeypatch, capsys):
    monkeypatch.setenv("NICHEFLOW_AUDIT_DB", str(tmp_path / "none.zip"))
    monkeypatch.delenv("NICHEFLOW_AUDIT_OSV_URL", raising=False)
    monkeypatch.delenv("NICHEFLOW_AUDIT_REQUIRED", raising=False)
    assert audit.main([str(lock)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dependency audit SKIPPED") and "was NOT audited" in out
    monkeypatch.setenv("NICHEFLOW_AUDIT_REQUIRED", "1")
    assert audit.main([str(lock)]) == 2
