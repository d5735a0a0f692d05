import threading

import pytest

from pipelines import checkpoints, production
from pipelines.db import connect
from pipelines.local.cli import main


@pytest.fixture
def prod(database, data_dir, configs):
    with connect() as conn:
        return production.create(conn, "science_en", "The Hubble Space Telescope", "manual__1")


def test_open_is_idempotent_and_decide_records_who_and_when(prod):
    with connect() as conn:
        a = checkpoints.open_checkpoint(conn, prod.id, prod.channel, "script", 1, {"script": "x.json"})
        b = checkpoints.open_checkpoint(conn, prod.id, prod.channel, "script", 1, {"script": "y.json"})
        assert a.id == b.id and b.artifacts == {"script": "x.json"}  # a retried stage never overwrites
        d = checkpoints.decide(conn, a.id, "approved", "maria")
    assert d.status == "approved" and d.reviewer == "maria" and d.decided_at is not None


def test_second_decision_is_refused_and_changes_nothing(prod):
    with connect() as conn:
        cp = checkpoints.open_checkpoint(conn, prod.id, prod.channel, "audio", 1, {})
        checkpoints.decide(conn, cp.id, "rejected", "ana", "voice too fast")
    with (
        connect() as conn,
        pytest.raises(checkpoints.CheckpointError, match="already decided: rejected by ana"),
    ):
        checkpoints.decide(conn, cp.id, "approved", "bob")
    with connect() as conn:
        assert checkpoints.get(conn, cp.id).reviewer == "ana"


def test_concurrent_decisions_only_one_wins(prod):
    with connect() as conn:
        cp = checkpoints.open_checkpoint(conn, prod.id, prod.channel, "broll", 1, {})
    results: list[str] = []

    def decide(name: str):
        try:
            with connect() as conn:
                checkpoints.decide(conn, cp.id, "approved", name)
            results.append("ok")
        except checkpoints.CheckpointError:
            results.append("refused")

    threads = [threading.Thread(target=decide, args=(f"r{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] + ["refused"] * 7


def test_changes_and_rejection_need_notes(prod):
    with connect() as conn:
        cp = checkpoints.open_checkpoint(conn, prod.id, prod.channel, "final", 1, {})
        with pytest.raises(checkpoints.CheckpointError, match="needs notes"):
            checkpoints.decide(conn, cp.id, "rejected", "ana", "  ")


def test_cli_lists_and_decides(prod, capsys, monkeypatch):
    monkeypatch.setenv("NICHEFLOW_REVIEWER", "cli-user")
    with connect() as conn:
        cp = checkpoints.open_checkpoint(conn, prod.id, prod.channel, "script", 1, {"script": "s.json"})
    assert main(["pending"]) == 0
    out = capsys.readouterr().out
    assert str(cp.id) in out and "The Hubble Space Telescope" in out and "script" in out
    assert main(["request-changes", str(cp.id), "--notes", "shorter intro"]) == 0
    assert "changes requested by cli-user" in capsys.readouterr().out
    assert main(["approve", str(cp.id)]) == 2
    assert "already decided" in capsys.readouterr().err
    assert main(["pending"]) == 0 and "No checkpoints waiting" in capsys.readouterr().out
    assert main(["show", str(cp.id)]) == 0 and "shorter intro" in capsys.readouterr().out
