"""A channel's local source documents: Markdown with a small front matter, split into fact sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_FRONT = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-ZÀ-ÖØ-Þ0-9])")


class SourceError(ValueError):
    pass


@dataclass(frozen=True)
class SourceDocument:
    path: Path
    title: str
    reference_url: str | None
    body: str

    def sentences(self) -> list[str]:
        """Plain sentences in document order (headings dropped, whitespace collapsed)."""
        text = "\n".join(line for line in self.body.splitlines() if not line.lstrip().startswith("#"))
        out = []
        for para in re.split(r"\n\s*\n", text):
            para = " ".join(para.split())
            out.extend(s.strip() for s in _SENTENCE_END.split(para) if len(s.split()) >= 4)
        return out


def read_document(path: Path) -> SourceDocument:
    text = path.read_text(encoding="utf-8")
    m = _FRONT.match(text)
    if not m:
        raise SourceError(f"{path}: expected front matter between '---' lines with title and reference_url")
    meta = yaml.safe_load(m.group(1)) or {}
    if not meta.get("title"):
        raise SourceError(f"{path}: front matter needs a 'title'")
    return SourceDocument(path=path, title=str(meta["title"]), reference_url=meta.get("reference_url"),
                          body=m.group(2))


def read_all(folder: Path) -> list[SourceDocument]:
    return [read_document(p) for p in sorted(folder.glob("*.md"))]
