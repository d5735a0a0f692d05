from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_all, load_config
from pipelines.paths import REPO


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


VALID = """
channel: demo_en
title: Demo
language: en
sources_dir: knowledge/sources/science_en
topics: [The Apollo 11 Moon landing]
"""


def test_sample_configs_are_valid():
    loaded = load_all(REPO / "niche_configs")
    assert loaded.errors == {}
    assert {"science_en", "historia_ptbr"} <= set(loaded.configs)
    pt = loaded.configs["historia_ptbr"]
    assert pt.text_search_config == "portuguese" and pt.voice_name == "pt-br"


def test_defaults_fill_in(tmp_path):
    cfg = load_config(write(tmp_path, "demo_en.yaml", VALID))
    assert cfg.schedule is None and cfg.target_seconds == 120 and cfg.publish.privacy == "private"
    assert cfg.asset_uri == "x-nicheflow://demo_en/longform"


@pytest.mark.parametrize(
    "extra, field, words",
    [
        ("colour: blue\n", "colour", "unknown field; allowed: channel, title"),
        ("voice:\n  rate_wpm: 5\n", "voice.rate_wpm", "greater than or equal to 80"),
        ("voice:\n  speed: 2\n", "voice.speed", "allowed: provider, name, rate_wpm"),
        ("schedule: every day\n", "schedule", "not a cron expression"),
        ("timezone: Mars/Olympus\n", "timezone", "unknown time zone"),
        ("publish:\n  tags: [space, <b>nasa</b>]\n", "publish.tags", "remove < and > from '<b>nasa</b>'"),
        ("topics: ['Apollo <i>11</i>']\n", "topics", "remove markup"),
        ("publish:\n  provider: youtube\n", "publish", "add publish.youtube with at least `project`"),
        ("publish:\n  youtube: {project: main, chunk_mib: 0.3}\n", "publish.youtube.chunk_mib", "256 KiB"),
        (  # 24 tags of 19 characters, each with a space (+2) and a comma between: 24 * 21 + 23 = 527
            "publish:\n  tags: [" + ", ".join(f"space science {i:05d}" for i in range(24)) + "]\n",
            "publish.tags",
            "527 characters as YouTube counts them (a comma between tags, 2 more for a tag with a space); "
            "YouTube allows 500 — remove tags or shorten them by 27",
        ),
    ],
)
def test_invalid_field_is_named_with_the_file(tmp_path, extra, field, words):
    given = extra.split(":")[0]  # `extra` replaces that field of VALID (a field given twice is refused)
    path = write(
        tmp_path,
        "demo_en.yaml",
        "".join(x for x in VALID.splitlines(True) if not x.startswith(given)) + extra,
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert str(path) in msg and f"{field}:" in msg and words in msg


def test_wrong_language_and_missing_field(tmp_path):
    path = write(
        tmp_path, "demo_en.yaml", VALID.replace("language: en", "language: fr").replace("title: Demo\n", "")
    )
    msg = str(pytest.raises(ConfigError, load_config, path).value)
    assert "language:" in msg and "'en' or 'pt-BR'" in msg and "title: Field required" in msg


def test_channel_must_match_file_name_and_sources_exist(tmp_path):
    assert "must match the file name" in str(
        pytest.raises(ConfigError, load_config, write(tmp_path, "other.yaml", VALID)).value
    )
    bad = write(tmp_path, "demo_en.yaml", VALID.replace("science_en", "nowhere"))
    assert "sources_dir" in str(pytest.raises(ConfigError, load_config, bad).value)


def test_broken_yaml_is_reported_and_others_load(tmp_path):
    write(tmp_path, "demo_en.yaml", VALID)
    write(tmp_path, "broken.yaml", "channel: [unclosed\n")
    loaded = load_all(tmp_path)
    assert list(loaded.configs) == ["demo_en"]
    assert "broken.yaml" in loaded.errors and "not valid YAML" in loaded.errors["broken.yaml"]
