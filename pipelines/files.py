"""Files written whole or not at all, and files placed without a copy when the disk allows.

- `atomic_write_bytes`, `atomic_write_text`, `write_json`: the data goes to a temporary file next to the
  target, under a name of its own (two writers never share one), is flushed to disk, and replaces the target
  in one step (os.replace). A reader, or whatever a crash leaves, sees the old file or the new one, never
  half of one; a failed write leaves the old file as it was and no temporary behind.
- `atomic_output`: the same for a file another program writes (ffmpeg): a temporary path to write, moved
  onto the target only when the block ends without an error.
- `link_or_copy`: a hard link when both paths are on one filesystem (a large video takes its space once), else
  a copy; the target is replaced in one step either way.

Temporary files are hidden and end in `.tmp` (`.<target name>.<random>.tmp`), so listings can skip them.
- `remove_leftovers`: what a killed writer left behind (a process killed with SIGKILL cleans nothing up):
  the hidden temporary files and work folders of a folder whose visible files are all written whole.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


@contextmanager
def atomic_output(path: Path | str) -> Iterator[Path]:
    """A temporary path in `path`'s folder to write (the folder is made); on leaving the block it replaces
    `path` in one step, or on an error it is removed and `path` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write `data` to `path` whole or not at all (see the module's note). Returns `path`."""
    path = Path(path)
    with atomic_output(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # as open() would: the umask applies
        with open(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return path


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write `text`, encoded, to `path` whole or not at all (see the module's note). Returns `path`."""
    return atomic_write_bytes(path, text.encode(encoding))


def json_text(data: object) -> str:
    """`data` as the indented JSON `write_json` writes."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def write_json(path: Path | str, data: object) -> Path:
    """`data` as indented UTF-8 JSON at `path`, written whole or not at all. Returns `path`."""
    return atomic_write_text(path, json_text(data))


def read_json(path: Path | str) -> dict:
    """The JSON stored at `path` (UTF-8)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def link_or_copy(src: Path | str, dest: Path | str) -> Path:
    """Place `src` at `dest` (its folder is made): a hard link, or a copy when a link cannot be made (another
    filesystem, or one without hard links). `dest` is replaced in one step. Returns `dest`."""
    dest = Path(dest)
    with atomic_output(dest) as tmp:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copy2(src, tmp)
    return dest


def remove_leftovers(folder: Path | str) -> list[Path]:
    """Remove the hidden files and folders (names starting with ".": temporary files and work folders) that
    a writer killed mid-way left in `folder` and its subfolders; returns what was removed. Only for a folder
    one writer at a time works in (a stage's revision folder), before it starts."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in sorted(folder.rglob(".*"), key=lambda p: len(p.parts)):
        if path.exists() or path.is_symlink():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed
