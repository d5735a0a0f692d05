"""Bad source documents in a channel's sources folder, through knowledge.sources and the local research
provider (pipelines/providers/research/local.py, the research slot's offline default). A document that
cannot be read is skipped with a warning naming it and saying what to fix, and the folder's other documents
are still researched; a document that can be read gives plain-text facts, whatever its Markdown."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from knowledge.sources import SourceError, read_document
from pipelines.db import connect
from pipelines.paths import REPO
from pipelines.providers.research.local import LocalSources

GOOD = REPO / "knowledge/sources/science_en/hubble-space-telescope.md"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de") + b"\0" * 64
FRONT = "---\ntitle: Voyager probes\nreference_url: https://example.org/voyager\n---\n"
FACT = "The Voyager 1 probe crossed into interstellar space in August 2012.\n"


@dataclass(frozen=True)
class Skipped:
    id: str
    content: bytes
    told: str  # what the warning says, besides the file's name


SKIPPED = [
    Skipped(
        "no front matter", ("# Voyager\n\n" + FACT).encode(), "expected front matter between '---' lines"
    ),
    Skipped("empty", b"", "expected front matter between '---' lines"),
    Skipped(
        "broken front matter",
        ("---\ntitle: [Voyager\nreference_url: x\n---\n" + FACT).encode(),
        "the front matter is not valid YAML",
    ),
    Skipped(
        "front matter that is a list",
        ("---\n- Voyager\n- probes\n---\n" + FACT).encode(),
        "the front matter must be fields",
    ),
    Skipped(
        "front matter without a title",
        ("---\nauthor: me\n---\n" + FACT).encode(),
        "front matter needs a 'title'",
    ),
    Skipped("binary (PNG bytes)", PNG, "not UTF-8 text (byte 0x89 at position 0)"),
    Skipped(
        "non-UTF-8 (Latin-1)",
        (FRONT + "A sonda Voyager é famosa.\n").encode("latin-1"),
        "not UTF-8 text (byte 0xe9",
    ),
    Skipped(
        "huge (20 MB)", (FRONT + FACT * 300_000).encode(), "bytes; split it into documents of at most 512,000"
    ),
]


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "sources"
    d.mkdir()
    shutil.copy(GOOD, d / GOOD.name)
    return d


def research(folder: Path, query: str) -> list[dict]:
    with connect() as conn:
        return list(LocalSources(folder, "en", conn, "english").research(query))


@pytest.mark.parametrize("case", SKIPPED, ids=lambda c: c.id)
def test_an_unreadable_document_is_skipped_and_named_and_the_others_are_researched(
    database, folder, caplog, case
):
    bad = folder / "voyager-probes.md"
    bad.write_bytes(case.content)
    with pytest.raises(
        SourceError, match=case.told.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        read_document(bad)  # read alone: the error says what to fix
    with caplog.at_level(logging.WARNING, logger="knowledge.sources"):
        facts = research(folder, "The Hubble Space Telescope and the Voyager probes")
    warned = [r.getMessage() for r in caplog.records if "source document skipped" in r.getMessage()]
    assert len(warned) == 1 and str(bad) in warned[0] and case.told in warned[0] and len(warned[0]) < 2000
    assert len(facts) >= 10 and {f["source_title"] for f in facts} == {"Hubble Space Telescope"}


def test_a_link_out_of_the_sources_folder_is_not_followed(database, folder, tmp_path, caplog):
    secret = tmp_path / "elsewhere" / "notes.md"
    secret.parent.mkdir()
    secret.write_text(FRONT + "The Voyager secret plan was written down on a private note in 2024.\n")
    (folder / "voyager.md").symlink_to(secret)
    with caplog.at_level(logging.WARNING, logger="knowledge.sources"):
        facts = research(folder, "Voyager Hubble")
    assert "outside the sources folder" in caplog.text and "voyager.md" in caplog.text
    assert facts and not any("secret" in f["claim"] for f in facts)


BROKEN_MARKDOWN = FRONT + (
    "# Voyager\n\n"
    "The Voyager 1 probe was launched in **1977 aboard a *Titan IIIE rocket.\n\n"
    "<script>alert('x')</script>Voyager 2 flew past <b>Uranus</b> in January 1986.\n\n"
    "| table | row |\n|---|---|\n| Voyager 2 is in a table cell. | x |\n\n"
    "See [the mission page](https://example.org/voyager Voyager 1 carries a golden record of sounds from Earth.\n\n"
    "> Voyager 2 reached Neptune in August 1989, the only probe to visit it.\n\n"
    "Both Voyager probes are powered by `radioisotope` generators that weaken every year.\n\n"
    "```\nprint('an unclosed code fence')\n"
)


def test_broken_markdown_gives_plain_text_facts(database, tmp_path):
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "voyager.md").write_text(BROKEN_MARKDOWN.replace("\n", "\r\n"), encoding="utf-8")  # Windows too
    facts = research(folder, "Voyager probes")
    claims = [f["claim"] for f in facts]
    assert "The Voyager 1 probe was launched in 1977 aboard a Titan IIIE rocket." in claims
    assert "Voyager 2 flew past Uranus in January 1986." in claims
    assert "Voyager 2 reached Neptune in August 1989, the only probe to visit it." in claims
    assert "Both Voyager probes are powered by radioisotope generators that weaken every year." in claims
    for claim in claims:  # nothing the narration would read out or the captions show as markup
        assert not any(mark in claim for mark in ("<", ">", "*", "`", "|", "](", "script", "print(")), claim
