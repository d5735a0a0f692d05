"""Bad channel YAMLs, through pipelines.config.load_config / load_all and the DAG file that reports them
(dags/nicheflow_config_errors.py). Each one is refused with a message naming the file and the field and
saying what to fix; one bad file never hides the others."""

from __future__ import annotations

import os
import runpy
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_all, load_config
from pipelines.paths import REPO

VALID = """channel: demo_en
title: Demo
language: en
sources_dir: knowledge/sources/science_en
topics: [The Apollo 11 Moon landing, The Hubble Space Telescope]
"""

BOMB = "".join(
    f"{a}: &{a} [{', '.join([f'*{b}'] * 9) if b else ', '.join(['lol'] * 9)}]\n"
    for a, b in zip("abcdefghi", ["", *"abcdefgh"], strict=True)
) + VALID.replace("topics: [The Apollo 11 Moon landing, The Hubble Space Telescope]", "topics: *i")


@dataclass(frozen=True)
class Case:
    id: str
    content: bytes | str  # the file's content; {elsewhere} / {linked} / {elsewhere_rel} are filled in
    expect: tuple[str, ...]  # the message must hold each of these
    name: str = "demo_en.yaml"


def resolved(relative: str) -> Path:
    """Where a relative path in a channel YAML lands: from the repo, wherever the checkout lives."""
    return (REPO / relative).resolve()


def without(*fields: str) -> str:
    return "".join(x for x in VALID.splitlines(True) if x.split(":")[0] not in fields)


CASES = [
    Case(
        "wrong type: a number as text", VALID + "target_seconds: long\n", ("target_seconds:", "valid integer")
    ),
    Case("wrong type: a section as text", VALID + "voice: loud\n", ("voice:", "valid dictionary")),
    Case(
        "wrong type: the backlog as one string",
        without("topics") + "topics: The Apollo 11 Moon landing\n",
        ("topics:", "valid list"),
    ),
    Case("unknown field", VALID + "colour: blue\n", ("colour:", "unknown field; allowed: channel, title")),
    Case(
        "unknown nested field (a typo)",
        VALID + "broll:\n  librari_dir: media\n",
        ("broll.librari_dir:", "unknown field; allowed: providers, library_dir"),
    ),
    Case(
        "sources_dir climbs out of the repo",
        without("sources_dir") + "sources_dir: ../../etc\n",
        ("sources_dir:", f"'../../etc' is {resolved('../../etc')}, outside the project"),
    ),
    Case(
        "sources_dir absolute outside",
        without("sources_dir") + "sources_dir: /etc\n",
        ("sources_dir:", "'/etc' is /etc, outside the project"),
    ),
    Case(
        "sources_dir through a link planted inside the project",
        without("sources_dir") + "sources_dir: {linked}\n",
        ("sources_dir:", "outside the project"),
    ),
    Case(
        "library_dir is the root folder",
        VALID + "broll:\n  providers: [local]\n  library_dir: /\n",
        ("broll.library_dir:", "library_dir '/' is /, outside the project"),
    ),
    Case(
        "library_dir climbs out of the repo",
        VALID + "broll:\n  providers: [local]\n  library_dir: ../../../usr\n",
        (
            "broll.library_dir:",
            f"library_dir '../../../usr' is {resolved('../../../usr')}, outside the project",
        ),
    ),
    Case(
        "music climbs out to a system file",
        VALID + "audio:\n  music: ../../etc/passwd\n",
        (
            "audio.music:",
            f"music '../../etc/passwd' is {resolved('../../etc/passwd')}, outside the project",
        ),
    ),
    Case(
        "intro is an absolute path outside",
        VALID + "style:\n  intro: {elsewhere}/intro.mp4\n",
        ("style.intro:", "intro.mp4' is", "outside the project"),
    ),
    Case(
        "outro climbs out to a real file",
        VALID + "style:\n  outro: {elsewhere_rel}/outro.png\n",
        ("style.outro:", "outro.png' is", "outside the project"),
    ),
    Case(
        "not UTF-8 (Latin-1 bytes)",
        VALID.replace("title: Demo", "title: Démo Ciência").encode("latin-1"),
        ("not UTF-8 text (byte 0xe9 at position", "save it as UTF-8"),
    ),
    Case(
        "a 10 MB file",
        VALID + "# " + "x" * 10_000_000 + "\n",
        ("10,000,", "bytes; a channel config is a few KB"),
    ),
    Case(
        "file name is not the channel id",
        VALID,
        ("channel: 'demo_en' must match the file name ('other')",),
        "other.yaml",
    ),
    Case("empty file", "", ("the file is empty", "channel, title, language and sources_dir")),
    Case(
        "only a comment",
        "# TODO: fill in\n",
        ("expected a mapping of fields at the top level", "not nothing"),
    ),
    Case("YAML bomb (billion laughs)", BOMB, ("expands to", "through anchors and aliases")),
    Case(
        "a list instead of a mapping",
        "- channel: demo_en\n- title: Demo\n",
        ("expected a mapping", "not list"),
    ),
    Case(
        "duplicate key",
        VALID + "title: Demo again\n",
        ("duplicate key 'title': give each field once", "line 6"),
    ),
    Case(
        "broken YAML syntax",
        VALID + "voice: {provider: espeak\n",
        ("not valid YAML", 'in "demo_en.yaml", line 6'),
    ),
    Case(
        "nested ten thousand deep",
        VALID + "voice: " + "[" * 10_000 + "]" * 10_000 + "\n",
        ("nested too deeply",),
    ),
    Case(
        "a backlog topic with markup",
        without("topics") + "topics: [The Voyager probes, 'Apollo <i>11</i> {\\an8}']\n",
        ("topics:", "topic 2: remove markup (HTML tags, subtitle override tags such as {\\an8})"),
    ),
    Case(
        "a backlog topic that is empty",
        without("topics") + "topics: [The Voyager probes, '  ']\n",
        ("topics:", "topic 2 ('  ') has no words"),
    ),
    Case(
        "a backlog topic of 10,000 characters",
        without("topics") + f"topics: [{'space ' * 1666}rocks]\n",
        ("topics:", "topic 1 (", "is 10,001 characters; a topic is at most 200"),
    ),
    Case(
        "a backlog topic with a right-to-left override",
        without("topics") + 'topics: ["Apollo \\u202e11 gnidnal"]\n',
        ("topics:", "remove markup (bidirectional override characters)"),
    ),
]


@pytest.fixture
def folders(tmp_path, tmp_path_factory, monkeypatch):
    """A config folder (the project: its parent) and a folder elsewhere holding media files."""
    configs = tmp_path / "niche_configs"
    configs.mkdir()
    monkeypatch.setenv("NICHEFLOW_CONFIG_DIR", str(configs))
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    for name in ("intro.mp4", "outro.png"):
        (elsewhere / name).write_bytes(b"\0" * 16)
    (tmp_path / "linked").symlink_to(elsewhere, target_is_directory=True)
    fill = {
        "elsewhere": str(elsewhere),
        "elsewhere_rel": os.path.relpath(elsewhere, REPO),
        "linked": str(tmp_path / "linked"),
    }
    return configs, fill


def write(configs: Path, fill: dict, case: Case) -> Path:
    path = configs / case.name
    if isinstance(case.content, bytes):
        path.write_bytes(case.content)
    else:
        text = case.content
        for key, value in fill.items():
            text = text.replace("{" + key + "}", value)
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_bad_channel_yaml_is_refused_naming_the_file_and_the_field(folders, case):
    configs, fill = folders
    path = write(configs, fill, case)
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    message = str(refused.value)
    assert message.startswith(str(path)), message[:300]
    for words in case.expect:
        assert words in message, f"{words!r} not in:\n{message[:2000]}"
    assert len(message) < 5000  # a message, not a dump of the input (the 10 MB file, the bomb)


def test_one_channel_id_in_two_files_keeps_one_and_reports_the_other(folders):
    configs, _ = folders
    (configs / "demo_en.yaml").write_text(VALID, encoding="utf-8")
    (configs / "demo_en.yml").write_text(VALID.replace("title: Demo", "title: Other demo"), encoding="utf-8")
    loaded = load_all(configs)
    assert list(loaded.configs) == ["demo_en"] and loaded.configs["demo_en"].title == "Demo"
    assert list(loaded.errors) == ["demo_en.yml"]
    assert "channel: 'demo_en' is already defined by demo_en.yaml" in loaded.errors["demo_en.yml"]
    assert "remove one of the two files" in loaded.errors["demo_en.yml"]


def test_every_bad_file_is_reported_and_the_good_channel_still_loads(folders):
    """All the bad files above in one config folder with one good channel: load_all keeps the good one
    and reports each bad file by name; the DAG file that shows config errors in Airflow's UI lists every
    one of them (and the good channel is not among them)."""
    configs, fill = folders
    bad = {}
    for i, case in enumerate(CASES):
        name = f"bad_{i:02d}.yaml"
        content = case.content
        if (
            isinstance(content, str) and case.name == "demo_en.yaml"
        ):  # its id is its name: only its fault shows
            content = content.replace("channel: demo_en", f"channel: bad_{i:02d}")
        write(configs, fill, Case(case.id, content, case.expect, name))
        bad[name] = case
    (configs / "good_en.yaml").write_text(VALID.replace("demo_en", "good_en"), encoding="utf-8")
    loaded = load_all(configs)
    assert list(loaded.configs) == ["good_en"]
    assert sorted(loaded.errors) == sorted(bad)
    for name, message in loaded.errors.items():
        assert name in message and len(message) < 5000, name
    with pytest.raises(ValueError) as shown:
        runpy.run_path(str(REPO / "dags" / "nicheflow_config_errors.py"))
    report = str(shown.value)
    assert report.startswith("nicheflow skipped invalid channel configs")
    assert all(name in report for name in bad) and "good_en" not in report
