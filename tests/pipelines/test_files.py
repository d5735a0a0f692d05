"""Atomic writes and hard-link-else-copy (pipelines.files): real files, real links, a real killed writer."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from pipelines.files import (
    atomic_output,
    atomic_write_bytes,
    atomic_write_text,
    link_or_copy,
    read_json,
    write_json,
)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def first_byte(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(1)
    except FileNotFoundError:
        return None


def test_writes_whole_files_and_makes_the_folder(tmp_path):
    target = tmp_path / "a" / "b" / "data.bin"
    assert atomic_write_bytes(target, b"\x00\x01") == target and target.read_bytes() == b"\x00\x01"
    assert atomic_write_text(target, "olá") == target and target.read_text(encoding="utf-8") == "olá"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # like any file the process writes
    assert leftovers(target.parent) == []


def test_json_round_trip(tmp_path):
    data = {"título": "Céu", "when": date(2024, 5, 1), "path": Path("x/y"), "n": [1, 2.5, None]}
    path = write_json(tmp_path / "d.json", data)
    assert read_json(path) == {"título": "Céu", "when": "2024-05-01", "path": "x/y", "n": [1, 2.5, None]}
    assert "título" in path.read_text(encoding="utf-8")  # not \u-escaped


def test_a_failed_serialisation_leaves_the_old_file(tmp_path):
    path = write_json(tmp_path / "d.json", {"v": 1})
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        write_json(path, {"v": loop})
    assert read_json(path) == {"v": 1} and leftovers(tmp_path) == []


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = atomic_write_bytes(tmp_path / "big.bin", b"old")

    def disk_full(fd):  # the data went out, the disk could not keep it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(path, b"new" * 100_000)
    assert path.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_writer_killed_mid_write_never_leaves_half_a_file(tmp_path):
    target = tmp_path / "blob.bin"
    size = 8 << 20
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from pipelines.files import atomic_write_bytes\n"
            "for i in range(10**6):\n"
            f"    atomic_write_bytes(sys.argv[1], bytes([i % 256]) * {size})\n",
            str(target),
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 60
        while first_byte(target) in (None, b"\x00"):  # until a few writes are done
            assert writer.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    data = target.read_bytes()
    assert len(data) == size and data == data[:1] * size  # one write, whole


def test_two_writers_never_share_a_temporary(tmp_path):
    path = tmp_path / "shared.json"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(40):
                write_json(path, {"writer": n, "i": i, "pad": "x" * 10_000})
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert read_json(path)["i"] == 39 and leftovers(tmp_path) == []


def test_atomic_output_for_a_file_another_program_writes(tmp_path):
    out = tmp_path / "video.mp4"
    out.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="encoder crashed"), atomic_output(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".video.mp4.") and tmp.name.endswith(".tmp")
        tmp.write_bytes(b"half")
        raise RuntimeError("encoder crashed")
    assert out.read_bytes() == b"old" and leftovers(tmp_path) == []
    with atomic_output(out) as tmp:
        tmp.write_bytes(b"new")
    assert out.read_bytes() == b"new" and leftovers(tmp_path) == []


def test_link_on_one_filesystem(tmp_path):
    src = atomic_write_bytes(tmp_path / "cache" / "clip.mp4", b"video")
    dest = tmp_path / "work" / "segment-00.mp4"
    dest.parent.mkdir()
    dest.write_bytes(b"an older clip")
    assert link_or_copy(src, dest) == dest
    assert dest.read_bytes() == b"video" and os.path.samefile(src, dest) and src.stat().st_nlink == 2
    assert link_or_copy(src, dest) == dest  # already the same file: nothing left behind
    assert os.path.samefile(src, dest) and src.stat().st_nlink == 2 and leftovers(dest.parent) == []


def _other_filesystem(than: Path) -> Path | None:
    for candidate in ("/dev/shm", tempfile.gettempdir(), "/run/user"):
        folder = Path(candidate)
        if folder.is_dir() and os.access(folder, os.W_OK) and folder.stat().st_dev != than.stat().st_dev:
            return folder
    return None


def test_a_copy_onto_another_filesystem(tmp_path):
    other = _other_filesystem(tmp_path)
    if other is None:
        pytest.skip("no writable folder on another filesystem here")
    work = Path(tempfile.mkdtemp(dir=other))
    try:
        src = atomic_write_bytes(tmp_path / "clip.mp4", b"video")
        dest = link_or_copy(src, work / "clip.mp4")
        assert dest.read_bytes() == b"video" and not os.path.samefile(src, dest)
        assert src.stat().st_nlink == 1 and leftovers(work) == []
    finally:
        shutil.rmtree(work)


def test_when_a_link_cannot_be_made_it_copies(tmp_path, monkeypatch):
    src = atomic_write_bytes(tmp_path / "clip.mp4", b"video")
    os.utime(src, (1_000_000_000, 1_000_000_000))
    dest = tmp_path / "out" / "clip.mp4"

    def cross_device(a, b, **kw):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    link_or_copy(src, dest)
    assert dest.read_bytes() == b"video" and not os.path.samefile(src, dest)
    assert dest.stat().st_mtime == 1_000_000_000  # a copy keeps the file's times, as a link would
    assert leftovers(dest.parent) == []


def test_a_missing_source_is_an_error_and_leaves_the_target(tmp_path):
    dest = atomic_write_bytes(tmp_path / "clip.mp4", b"kept")
    with pytest.raises(FileNotFoundError):
        link_or_copy(tmp_path / "gone.mp4", dest)
    assert dest.read_bytes() == b"kept" and leftovers(tmp_path) == []


def test_what_a_killed_writer_left_is_removed_and_nothing_else(tmp_path):
    from pipelines.files import remove_leftovers

    (tmp_path / "video.mp4").write_bytes(b"whole")
    (tmp_path / ".video.mp4.0123456789ab.tmp").write_bytes(b"half")
    (tmp_path / ".video.mp4.x1y2").mkdir()  # a render's work folder
    (tmp_path / ".video.mp4.x1y2" / "still0000.jpg").write_bytes(b"jpg")
    (tmp_path / "thumbnails" / ".thumbnails.abc").mkdir(parents=True)
    (tmp_path / "thumbnails" / "thumbnail_1_bold.jpg").write_bytes(b"jpg")
    removed = remove_leftovers(tmp_path)
    assert {p.name for p in removed} == {".video.mp4.0123456789ab.tmp", ".video.mp4.x1y2", ".thumbnails.abc"}
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "thumbnails",
        "thumbnails/thumbnail_1_bold.jpg",
        "video.mp4",
    ]
    assert remove_leftovers(tmp_path / "missing") == []
