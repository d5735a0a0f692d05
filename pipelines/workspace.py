"""A production's files as one task works on them (pipelines.storage says where they are kept).

With the data folder (or a folder every machine mounts) as storage, the workspace is the production's
folder there, as it always was: nothing is staged, uploaded or removed. With a bucket, the workspace is
this task's own scratch folder (data folder/scratch/<pid>-<random>/<key>, on this worker's disk, its own
even when two tasks of one production share a machine):
- `path(rel)` stages a stored file into scratch the first time it is asked for (ffmpeg wants local files);
- `sync()` uploads every file written or changed in scratch since it was staged — `production_db` calls
  it when the stage's work returned and before its transaction commits, so a checkpoint or result row
  never names a file that is not stored whole; a stage that raised uploads nothing and counts for nothing;
- `close()` removes the scratch folder (also done when the workspace is garbage-collected, or at exit).

The b-roll media cache, the stock searches' cache and the Whisper model stay per worker, under each
worker's own data folder: they are caches, and a worker without them fetches or joins them again."""

from __future__ import annotations

import os
import secrets
import shutil
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.paths import data_dir
from pipelines.storage import Storage, check_key


def scratch_root() -> Path:
    """Where this worker's tasks stage production files when the storage is a bucket."""
    return data_dir() / "scratch"


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _is_temp(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(".tmp")  # pipelines.files' half-written ones


class Workspace:
    """The files of the production stored under `key` (see the module's note). `legacy`: the absolute
    folder an older production row names, used as it is when the storage is a folder."""

    def __init__(self, key: str, store: Storage, legacy: Path | None = None):
        self.key, self.store = check_key(key), store
        self._known: dict[Path, tuple[int, int]] = {}  # staged or uploaded, as they were then
        self.scratch: Path | None = None
        if store.local_root is not None:
            self.root = legacy or store.local_root / self.key
        else:
            self.scratch = scratch_root() / f"{os.getpid()}-{secrets.token_hex(4)}"
            self.root = self.scratch / self.key
            weakref.finalize(self, shutil.rmtree, str(self.scratch), True)
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def staged(self) -> bool:
        """Files are staged to scratch and uploaded (the storage is a bucket)."""
        return self.scratch is not None

    def key_of(self, rel: str) -> str:
        """The storage key of the workspace file `rel`."""
        return f"{self.key}/{check_key(rel)}"

    def path(self, rel: str) -> Path:
        """The local path of the workspace file `rel`, staged from storage when it is stored and not here
        yet (a file this task wrote wins). The path need not exist: nothing is stored under it."""
        if not self.staged:
            return self.root / rel
        local = self.root / check_key(rel)
        if not local.exists() and self.store.get(self.key_of(rel), local):
            self._known[local] = _stamp(local)
        return local

    def upload(self, *paths: Path) -> list[str]:
        """Store these workspace files now (a bucket; nothing to do for a folder); returns their keys."""
        if not self.staged or not paths:
            return []
        pairs = [(p, self.key_of(p.relative_to(self.root).as_posix())) for p in paths]
        self.store.put_many(pairs)
        for p in paths:
            self._known[p] = _stamp(p)
        return [k for _, k in pairs]

    def written(self) -> list[Path]:
        """The files of scratch written or changed since they were staged or uploaded."""
        if not self.staged:
            return []
        return [
            f
            for f in sorted(self.root.rglob("*"))
            if f.is_file() and not _is_temp(f) and self._known.get(f) != _stamp(f)
        ]

    def sync(self) -> list[str]:
        """Upload what `written` lists; returns the keys stored."""
        return self.upload(*self.written())

    def close(self) -> None:
        """Remove the scratch folder (a folder storage's workspace is kept: it is the storage)."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    @contextmanager
    def session(self) -> Iterator[Workspace]:
        """One task's use: on a clean exit what it wrote is uploaded; either way scratch is removed."""
        try:
            yield self
            self.sync()
        finally:
            self.close()
