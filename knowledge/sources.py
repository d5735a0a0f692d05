"""A channel's local source documents: Markdown with a small front matter, split into fact sentences.

A document that cannot be read as one (no or broken front matter, not UTF-8 text, too large, a link out of
the folder) is skipped by read_all with a warning naming it and what to fix; the others are still used.
Sentences are plain text: Markdown and HTML markup never become part of a fact."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.text import claim_sentences
from pipelines.errors import PermanentError
from pipelines.metadata import clean

log = logging.getLogger(__name__)
_FRONT = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)
LOCAL_MIN_WORDS = 4  # the channel's own documents are curated: short sentences are facts too
MAX_BYTES = 512_000  # a long article is ~100 KB; PostgreSQL's full-text search stops at 1 MB of lexemes
# [text](url), [text](url "title"), ![alt](src), and one missing its ")": the text stays
_LINK = re.compile(r'!?\[([^\]]*)\]\(\S*?(?:\s+"[^"]*")?(?:\)|(?=\s)|$)')
_SKIP_LINE = re.compile(r"^\s*(#|```|~~~|\||<!--)")  # headings, code fences, table rows, comments


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
        text = "\n".join(line for line in self.body.splitlines() if not _SKIP_LINE.match(line))
        paragraphs = (_plain(para) for para in re.split(r"\n\s*\n", text))
        return claim_sentences("\n".join(paragraphs), language, min_words=LOCAL_MIN_WORDS)


def _plain(markdown: str) -> str:
    """A paragraph of Markdown as one line of plain text: links as their text, emphasis and code marks,
    HTML and anything else metadata.clean removes taken out."""
    return clean(_LINK.sub(r"\1", markdown).replace("*", "").replace("`", ""))


def read_document(path: Path) -> SourceDocument:
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SourceError(f"{path}: {size:,} bytes; split it into documents of at most {MAX_BYTES:,} bytes")
    try:
        text = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError as e:
        raise SourceError(
            f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at position {e.start}); source documents "
            "are Markdown saved as UTF-8"
        ) from None
    m = _FRONT.match(text)
    if not m:
        raise SourceError(f"{path}: expected front matter between '---' lines with title and reference_url")
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as e:
        raise SourceError(f"{path}: the front matter is not valid YAML: {e}") from None
    if not isinstance(meta, dict):
        raise SourceError(f"{path}: the front matter must be fields (title: ..., reference_url: ...)")
    if not meta.get("title"):
        raise SourceError(f"{path}: front matter needs a 'title'")
    if not isinstance(meta.get("reference_url"), str | None):
        raise SourceError(f"{path}: reference_url must be one address (https://...)")
    return SourceDocument(
        path=path, title=str(meta["title"]), reference_url=meta.get("reference_url"), body=m.group(2)
    )


def read_all(folder: Path) -> list[SourceDocument]:
    """The folder's documents; one that cannot be read is skipped, the log saying which and what to fix."""
    docs = []
    inside = folder.resolve()
    for path in sorted(folder.glob("*.md")):
        try:
            if not path.resolve().is_relative_to(inside):
                raise SourceError(f"{path}: links to {path.resolve()}, outside the sources folder {inside}")
            docs.append(read_document(path))
        except (SourceError, OSError) as e:
            log.warning("source document skipped: %s", e)
    return docs
