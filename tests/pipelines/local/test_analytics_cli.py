"""`nicheflow analytics pull|show` as a person runs them (the CLI's main, in process), against the local
YouTube (tests.helpers.fake_youtube) with the channels' connections in their environment form."""

from __future__ import annotations

import pytest

from pipelines.local.cli import main as cli
from tests.helpers.analytics import HISTORIA, connect_channels, pt_days_ago, uploaded
from tests.helpers.fake_youtube import FakeYouTube
from tests.helpers.fake_youtube_analytics import sample_daily, sample_retention


@pytest.fixture
def fake(database, configs, monkeypatch):
    with FakeYouTube() as f:
        connect_channels(f, configs, monkeypatch)
        yield f


def test_pull_every_channel_then_show_one(fake, capsys):
    vid = uploaded(fake, "science_en", days_ago=9)
    figures = sample_daily(pt_days_ago(9), 7)
    fake.set_analytics(vid, daily=figures, retention=sample_retention(), traffic={"SHORTS": 55})
    young = uploaded(fake, "science_en", days_ago=1, kind="short", viewCount=321)
    fake.analytics_forbidden.add(HISTORIA)
    uploaded(fake, "historia_ptbr", days_ago=9)

    assert cli(["analytics", "pull"]) == 1  # historia_ptbr was skipped
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("historia_ptbr  skipped") and "nicheflow youtube connect historia_ptbr" in out[0]
    assert (
        out[1].startswith("science_en  ok")
        and "2 videos: 7 daily rows, 1 retention curve, 1 near-real-time count" in out[1]
    )

    assert cli(["analytics", "show", "science_en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["PUBLISHED", "KIND", "VIDEO", "VIEWS"]
    [long_line] = [ln for ln in lines if vid in ln]
    [short_line] = [ln for ln in lines if young in ln]
    assert f"{sum(f['views'] for f in figures.values()):,}" in long_line and "topic of" in long_line
    assert " 100 " in long_line and " 55 " in long_line  # retention points, views from Shorts
    assert "321 at" in short_line  # near-real-time views of a young video
    assert lines[-1].startswith("Last pull") and ": ok: 2 videos" in lines[-1]


def test_show_a_channel_never_pulled_says_how(fake, capsys):
    assert cli(["analytics", "show", "historia_ptbr"]) == 0
    out = capsys.readouterr().out
    assert "no video on YouTube yet" in out and "nicheflow analytics pull historia_ptbr" in out


def test_an_unknown_channel_is_refused(fake, capsys):
    assert cli(["analytics", "pull", "nope"]) == 2
    assert "no config for channel 'nope'" in capsys.readouterr().err
