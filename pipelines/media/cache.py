"""Downloaded b-roll, stored once by content hash and verified on every use.

Layout under the cache root: `blobs/<sha256[:2]>/<sha256><suffix>` holds each file once, whatever asked
for it; `keys/<name>` maps what was asked for (provider, id, rendition) to the sha256 of its bytes. A
production's workspace gets a hard link to the blob (a copy when the workspace is on another disk), so a
clip used by several productions takes its space once. A blob whose bytes no longer match its hash is
refused: it is deleted and the caller downloads it again."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from pipelines.files import atomic_write_bytes, atomic_write_text, link_or_copy

log = logging.getLogger(__name__)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class MediaCache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _key_file(self, key: str) -> Path:
        return self.root / "keys" / re.sub(r"[^A-Za-z0-9._-]+", "_", key)

    def _blob(self, sha: str, suffix: str) -> Path:
        return self.root / "blobs" / sha[:2] / f"{sha}{suffix}"

    def get(self, key: str) -> Path | None:
        """The verified blob stored for `key`, or None (never stored, gone, or refused as corrupt)."""
        key_file = self._key_file(key)
        if not key_file.is_file():
            return None
        sha, _, suffix = key_file.read_text().strip().partition(" ")
        blob = self._blob(sha, suffix)
        if not blob.is_file():
            return None
        if sha256_file(blob) != sha:
            log.warning(
                "b-roll cache: %s does not match its hash; refused, it will be downloaded again", blob
            )
            blob.unlink()
            return None
        return blob

    def put(self, key: str, data: bytes, suffix: str) -> Path:
        """Store `data` under `key`; bytes already stored (under any key) are not written again."""
        sha = hashlib.sha256(data).hexdigest()
        blob = self._blob(sha, suffix)
        if not (blob.is_file() and sha256_file(blob) == sha):
            atomic_write_bytes(blob, data)
        atomic_write_text(self._key_file(key), f"{sha} {suffix}")
        return blob

    def blob_count(self) -> int:
        return sum(1 for p in (self.root / "blobs").glob("*/*") if not p.name.endswith(".tmp"))


def link_into(blob: Path, dest: Path) -> Path:
    """Place the cached file at `dest` (hard link, else copy)."""
    return link_or_copy(blob, dest)
