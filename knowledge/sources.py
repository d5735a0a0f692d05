"""A channel's local source documents: Markdown with a small front matter, split into fact sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.text import claim_sentences
from pipelines.errors import PermanentError

_FRONT = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)
LOCAL_MIN_WORDS = 4  # the channel's own documents are curated: short sentences are facts too


class SourceError(PermanentError, ValueError):
    """A source document that cannot be read as one; the message names the file and what to fix."""


@dataclass(frozen=True)
class SourceDocument:
    path: Path
    title: str
    reference_url: str | None
    body: str

    def sentences(self, language: str) -> list[str]:
        """Complete sentences in document order (headings dropped; a paragraph may wrap over lines)."""
        text = "\n".join(line for line in self.body.splitlines() if not line.lstrip().startswith("#"))
        paragraphs = (" ".join(para.split()) for para in re.split(r"\n\s*\n", text))
        return claim_sentences("\n".join(paragraphs), language, min_words=LOCAL_MIN_WORDS)


def read_document(path: Path) -> SourceDocument:
    text = path.read_text(encoding="utf-8")
    m = _FRONT.match(text)
    if not m:
        raise SourceError(f"{path}: expected front matter between '---' lines with title and reference_url")
    meta = yaml.safe_load(m.group(1)) or {}
    if not meta.get("title"):
        raise SourceError(f"{path}: front matter needs a 'title'")
    return SourceDocument(
        path=path, title=str(meta["title"]), reference_url=meta.get("reference_url"), body=m.group(2)
    )


def read_all(folder: Path) -> list[SourceDocument]:
    return [read_document(p) for p in sorted(folder.glob("*.md"))]
