"""The channel's `style:` block: defaults, and errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_config

VALID = """
channel: demo_en
title: Demo
language: en
sources_dir: knowledge/sources/science_en
"""


def _load(tmp_path: Path, style: str):
    path = tmp_path / "demo_en.yaml"
    path.write_text(VALID + style, encoding="utf-8")
    return load_config(path)


def test_defaults_have_no_intro_or_outro(tmp_path: Path) -> None:
    style = _load(tmp_path, "").style
    assert style.intro_path is None and style.outro_path is None
    assert (style.caption_colour, style.caption_position, style.caption_scale) == ("#FFFFFF", "bottom", 1.0)


def test_a_style_is_read(tmp_path: Path) -> None:
    style = _load(
        tmp_path, "style:\n  caption_colour: '#ffcc00'\n  caption_position: top\n  caption_box: true\n"
    ).style
    assert (style.caption_colour, style.caption_position, style.caption_box) == ("#FFCC00", "top", True)


@pytest.mark.parametrize(
    ("style", "words"),
    [
        ("  caption_colour: yellow\n", ["style.caption_colour", "use #RRGGBB"]),
        ("  caption_position: left\n", ["style.caption_position", "'bottom', 'middle' or 'top'"]),
        ("  intro: media/intro.mp4\n", ["style.intro", "is not a file (relative to the repo root)"]),
        ("  outro: README.md\n", ["style.outro", "use a video or image file"]),
        ("  caption_scale: 3\n", ["style.caption_scale", "less than or equal to 2"]),
        ("  font: Comic\n", ["style.font", "allowed: caption_font"]),
    ],
)
def test_bad_style_says_what_to_fix(tmp_path: Path, style: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, "style:\n" + style)
    for word in words:
        assert word in str(err.value)
