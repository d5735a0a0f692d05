"""The cost of every video, on real PostgreSQL: figures summed per production and per channel per month, a
rerun replacing its own figure while a failed attempt's spend is kept, prices (Groq's from its usage, Azure's
per character, the offline providers free, YouTube in units), YouTube units from the quota ledger, the
render's CPU-seconds measured from real ffmpeg, and `nicheflow costs`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines import costs
from pipelines.db import connect, enter_channel
from pipelines.local import cli
from pipelines.media.ffmpeg import FFmpegError, run_ffmpeg


def production(conn, channel: str, topic: str = "Hubble") -> int:
    row = conn.execute(
        "INSERT INTO productions (channel, topic, dag_run_id, workspace) VALUES (%s, %s, %s, '/tmp/w')"
        " RETURNING id",
        (channel, topic, f"run-{topic}"),
    ).fetchone()
    return row["id"]


def ledger_call(
    conn, production_id: int, method: str, units: int, ok: bool = True, api: str = "data"
) -> None:
    conn.execute(
        "INSERT INTO youtube_calls (project, pt_day, method, units, ok, for_channel, production_id, api)"
        " VALUES ('proj', '2025-01-10', %s, %s, %s, 'science_en', %s, %s)",
        (method, units, ok, production_id, api),
    )


GROQ_USAGE = {
    "prompt_tokens": 1500,
    "completion_tokens": 300,
    "total_tokens": 1800,
    "cost_usd": 0.001122,
    "calls": 1,
    "model": "llama-3.3-70b-versatile",
}


def test_a_productions_figures_are_summed_and_say_how_they_are_priced(database):
    with connect() as conn:
        pid = production(conn, "science_en")
        ledger_call(conn, pid, "videos.insert", 0)
        ledger_call(conn, pid, "thumbnails.set", 50)
        ledger_call(conn, pid, "captions.insert", 400, ok=False)  # failed calls are charged too
    costs.llm(pid, "script:r1:llm", GROQ_USAGE)
    costs.tts(pid, "audio:r1:tts", "azure", 2000, 15.0, voice="en-US-JennyNeural")
    costs.spend(pid, "broll:r1:stock:pexels", "stock", "pexels", 6, "calls")
    costs.spend(pid, "broll:r1:stock:generated", "stock", "generated", 2, "visuals")
    costs.render(pid, "final:r1:render", 41.5)
    with connect() as conn:
        conn.execute(
            "INSERT INTO research_log (channel, production_id, provider, query, candidates, new_facts)"
            " VALUES ('science_en', %s, 'websearch', 'hubble', 5, 3), ('science_en', %s, 'websearch', 'q2', 2, 1),"
            " ('science_en', %s, 'wikipedia', 'hubble', 9, 9)",
            (pid, pid, pid),
        )
        costs.research(conn, pid)  # web search without its plan's price: no price known
    costs.youtube(pid)

    with connect() as conn:
        s = costs.of_production(conn, pid)
    assert s.total_usd == pytest.approx(0.001122 + 0.03)  # Groq's own figure + 2,000 chars at $15 per million
    assert s.by_kind["llm"].quantities == {"tokens": 1800}
    assert s.by_kind["tts"].cost_usd == pytest.approx(0.03)
    assert (s.youtube_units, s.youtube_calls) == (450, 3)
    assert (s.stock_calls, s.research_calls, s.render_cpu_seconds) == (6, 3, 41.5)
    assert [(x.provider, x.quantity) for x in s.unpriced] == [("websearch", 2)]
    assert {x.provider for x in s.free} == {"pexels", "generated", "wikipedia"}
    labels = {x.key: x.label for x in s.lines}
    assert labels["script:r1:llm"] == "$0.001122" and labels["broll:r1:stock:pexels"] == "free/offline"
    assert labels["youtube:data"] == "quota units (no money price)"
    assert labels["research:websearch"] == "no price known"
    assert s.dump()["lines"][0]["label"] == "$0.001122"


def test_a_channel_session_sees_its_own_figures_and_the_ledgers_as_recorded(database):
    with connect() as conn:
        pid = production(conn, "science_en")
        other = production(conn, "historia_ptbr", "Dom Pedro")
        ledger_call(conn, pid, "thumbnails.set", 50)
    costs.youtube(pid)  # what the publish stage records from the ledger
    with connect() as conn:
        ledger_call(conn, pid, "playlistItems.insert", 50)  # a later call, not recorded yet
    costs.llm(other, "script:r1:llm", GROQ_USAGE)
    with connect() as conn:
        enter_channel(conn, "science_en")
        costs.record(conn, pid, "render:extra", "render", "ffmpeg", 3.0, "cpu_seconds")  # through the view
        mine = costs.of_production(conn, pid)
        with pytest.raises(LookupError):
            costs.of_production(conn, other)  # another channel's production is not there
    assert mine.youtube_units == 50  # the channel session cannot read the ledger: the recorded figure
    assert mine.render_cpu_seconds == 3.0
    with connect() as conn:
        assert costs.of_production(conn, pid).youtube_units == 100  # read live from the ledger


def test_a_rerun_replaces_its_figure_and_a_failed_attempt_is_kept(database):
    with connect() as conn:
        pid = production(conn, "science_en")
    failed = {**GROQ_USAGE, "total_tokens": 4000, "cost_usd": 0.0025, "calls": 2}
    assert costs.llm(pid, "script:r1:llm", failed, failed=True) == "script:r1:llm:failed:1"
    assert costs.llm(pid, "script:r1:llm", failed, failed=True) == "script:r1:llm:failed:2"
    costs.llm(pid, "script:r1:llm", GROQ_USAGE)
    costs.llm(pid, "script:r1:llm", {**GROQ_USAGE, "total_tokens": 1900, "cost_usd": 0.0012})  # run again
    costs.llm(pid, "script:r2:llm", GROQ_USAGE)  # a new revision is new spend
    with connect() as conn:
        s = costs.of_production(conn, pid)
    by_key = {x.key: x for x in s.lines}
    assert sorted(by_key) == [
        "script:r1:llm",
        "script:r1:llm:failed:1",
        "script:r1:llm:failed:2",
        "script:r2:llm",
    ]
    assert by_key["script:r1:llm"].quantity == 1900 and not by_key["script:r1:llm"].failed
    assert by_key["script:r1:llm:failed:2"].failed
    assert s.total_usd == pytest.approx(0.0012 + 2 * 0.0025 + 0.001122)
    assert s.by_kind["llm"].quantities == {"tokens": 1900 + 8000 + 1800}


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


def test_spend_is_summed_per_channel_per_month(database):
    with connect() as conn:
        a1, a2 = production(conn, "science_en", "a1"), production(conn, "science_en", "a2")
        b1 = production(conn, "historia_ptbr", "b1")
        rec = costs.record
        rec(conn, a1, "script:r1:llm", "llm", "groq", 1800, "tokens", 0.0011, at=at(1, 5))
        rec(conn, a1, "audio:r1:tts", "tts", "azure", 2000, "characters", 0.03, at=at(1, 6))
        rec(
            conn, a1, "final:r1:render", "render", "ffmpeg", 40, "cpu_seconds", at=at(2, 1, 1)
        )  # Jan in São Paulo
        rec(conn, a2, "script:r1:llm", "llm", "groq", 1000, "tokens", 0.0007, at=at(2, 10))
        rec(conn, a2, "audio:r1:tts", "tts", "espeak", 900, "characters", at=at(2, 10))
        rec(conn, b1, "script:r1:llm", "llm", "groq", 5000, "tokens", 0.004, at=at(1, 20))
        utc = costs.monthly(conn, "science_en")
        sao_paulo = costs.monthly(conn, "science_en", "America/Sao_Paulo")
        b = costs.monthly(conn, "historia_ptbr")
        feb = costs.month_videos(conn, "science_en", "2025-02")
    assert [(m.month, m.videos, m.total_usd) for m in utc] == [
        ("2025-01", 1, pytest.approx(0.0311)),
        ("2025-02", 2, pytest.approx(0.0007)),
    ]
    assert utc[1].by_kind["render"].quantities == {"cpu_seconds": 40}
    assert utc[1].by_kind["tts"].quantities == {"characters": 900} and utc[1].by_kind["tts"].cost_usd == 0
    assert utc[1].per_video_usd == pytest.approx(0.00035)
    assert [(m.month, m.videos) for m in sao_paulo] == [("2025-01", 1), ("2025-02", 1)]
    assert "render" in sao_paulo[0].by_kind  # 01:00 UTC on 1 February is still January there
    assert [(m.month, m.videos, m.total_usd) for m in b] == [("2025-01", 1, pytest.approx(0.004))]
    assert [(v.production_id, v.topic) for v in feb] == [(a1, "a1"), (a2, "a2")]


def test_the_render_cpu_seconds_are_measured_from_real_ffmpeg(database, tmp_path):
    with connect() as conn:
        pid = production(conn, "science_en")
    with costs.render_cpu(pid, "final:r1:render") as detail:
        run_ffmpeg(
            ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=2", "-c:v", "libx264",
             "-preset", "veryfast", tmp_path / "out.mp4"],
            what="a test render",
        )  # fmt: skip
        detail["video_seconds"] = 2.0
    with pytest.raises(FFmpegError), costs.render_cpu(pid, "final:r2:render"):
        run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=duration=1", "-c:v", "no-such-codec", tmp_path / "x.mp4"],
                   what="a failing render")  # fmt: skip
    with connect() as conn:
        s = costs.of_production(conn, pid)
    line = next(x for x in s.lines if x.key == "final:r1:render")
    assert line.quantity > 0 and line.unit == "cpu_seconds" and line.price == "cpu"
    assert line.detail["video_seconds"] == 2.0 and line.detail["wall_seconds"] > 0
    assert any(x.key == "final:r2:render:failed:1" for x in s.lines)  # the failed attempt is on record


def test_the_costs_command_prints_a_production_and_a_channels_months(database, capsys):
    with connect() as conn:
        pid = production(conn, "science_en", "The Hubble Space Telescope")
        ledger_call(conn, pid, "thumbnails.set", 50)
        costs.record(conn, pid, "script:r1:llm", "llm", "offline", 0, "tokens", at=at(3, 1))
        costs.record(conn, pid, "audio:r1:tts", "tts", "azure", 1000, "characters", 0.015, at=at(3, 1))
        costs.record(conn, pid, "research:websearch", "research", "websearch", 2, "calls", at=at(3, 1))
    assert cli.main(["costs", str(pid)]) == 0
    out = capsys.readouterr().out
    assert "'The Hubble Space Telescope'" in out and "free/offline" in out
    assert "total $0.015000 + 1 figure(s) with no price known: websearch (2 calls)" in out
    assert "YouTube 50 units in 1 calls" in out
    assert cli.main(["costs", "--channel", "science_en"]) == 0
    out = capsys.readouterr().out
    assert "2025-03" in out and "$0.015000" in out and "tts 1,000 characters $0.015000" in out
    assert cli.main(["costs", "--channel", "science_en", "--month", "2025-03"]) == 0
    assert "The Hubble Space Telescope" in capsys.readouterr().out
    assert cli.main(["costs", "--channel", "science_en", "--month", "March"]) == 2
    assert cli.main(["costs", "999"]) == 1
