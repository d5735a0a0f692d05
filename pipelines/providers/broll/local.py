"""The channel's own b-roll library: a folder of images and clips, each with a `<name>.yaml` sidecar.

The sidecar says what the file may be used under; a file without one (or without `licence`) is never
used, and the log says which. Fields: `licence` (required), `author`, `url` (the page to credit),
`description`, `tags` (a list or a comma-separated string). Relevance is ranked on the description, the
tags and the file name. A file's id is its content hash, so renaming it does not make it new."""

from __future__ import annotations

import logging
from functools import cache, cached_property
from pathlib import Path

import yaml

from pipelines.media.cache import sha256_file
from pipelines.providers.broll.base import Candidate, fits, measure, relevance

log = logging.getLogger(__name__)
KINDS = {
    ".jpg": "image",
    ".jpeg": "image",
    ".png": "image",
    ".webp": "image",
    ".mp4": "video",
    ".mov": "video",
    ".webm": "video",
    ".mkv": "video",
}


def _sidecar(path: Path) -> dict | None:
    side = path.with_suffix(".yaml")
    try:
        meta = yaml.safe_load(side.read_text(encoding="utf-8")) if side.is_file() else None
    except yaml.YAMLError as e:
        log.warning("b-roll library: %s is not valid YAML (%s); %s is not used", side, e, path.name)
        return None
    if not isinstance(meta, dict) or not str(meta.get("licence") or "").strip():
        log.warning(
            "b-roll library: %s has no licence (add %s with `licence:`); not used", path.name, side.name
        )
        return None
    return meta


def _name(path: Path) -> str:
    return path.stem.replace("-", " ").replace("_", " ")


class LocalLibrary:
    """The channel's own b-roll library as a provider (see the module's docstring)."""

    name = "local"

    def __init__(self, folder: Path, *, min_width: int = 1280):
        self.folder = Path(folder)
        self.min_width = min_width

    @cached_property
    def entries(self) -> dict[Path, tuple[dict, str]]:
        """Every licensed file: its sidecar and the words it is found by. Nothing is opened yet."""
        out = {}
        for path in sorted(p for p in self.folder.rglob("*") if p.suffix.lower() in KINDS and p.is_file()):
            meta = _sidecar(path)
            if meta is not None:
                tags = meta.get("tags") or ""
                tags = ", ".join(map(str, tags)) if isinstance(tags, list) else str(tags)
                out[path] = (meta, f"{tags} {_name(path)}")
        return out

    @cache  # noqa: B019 (a library lives for one stage run)
    def candidate(self, path: Path) -> Candidate | None:
        """The file measured and hashed, once it matches a search; None if it is unreadable."""
        meta, tags = self.entries[path]
        kind = KINDS[path.suffix.lower()]
        try:
            w, h, duration = measure(path, kind)
        except ValueError as e:
            log.warning("b-roll library: %s; not used", e)
            return None
        return Candidate(
            "local",
            sha256_file(path),
            kind,
            w,
            h,
            duration,
            meta.get("url"),
            str(path),
            str(meta.get("description") or _name(path)),
            tags,
            str(meta["licence"]).strip(),
            f"{meta.get('author') or 'unknown'} / own library",
        )

    def search(self, query: str, kind: str, orientation: str = "landscape") -> list[Candidate]:
        """Licensed files of `kind` whose description, tags or name share a word with `query`, of
        `orientation` and at least `min_width` on their long side (base.fits), in library order (the stage
        ranks them)."""
        found = [
            self.candidate(path)
            for path, (meta, tags) in self.entries.items()
            if KINDS[path.suffix.lower()] == kind
            and relevance(query, f"{meta.get('description') or ''} {tags}")
        ]
        out = []
        for c in found:
            if c and fits(c.width, c.height, orientation, self.min_width):
                out.append(c)
            elif c:
                log.info(
                    "b-roll library: %s is %dx%d, not %s and %d on its long side; not used here",
                    Path(c.download).name,
                    c.width,
                    c.height,
                    orientation,
                    self.min_width,
                )
        return out

    def fetch(self, candidate: Candidate) -> bytes:
        """The file's bytes, read from the library."""
        return Path(candidate.download).read_bytes()
