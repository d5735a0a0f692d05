"""The one ffmpeg wrapper: run it, and probe media by reading `ffmpeg -i` output.

There is no system ffmpeg/ffprobe; the static build shipped by imageio-ffmpeg is used
(it has libx264, aac and libass). Every run is an argument list, never a shell, and the
exact command is logged so a failure can be reproduced by copy-paste. `cpu_meter` measures the CPU time
(user + system) the ffmpeg runs inside a block used, for the cost of a video.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import shlex
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeAlias

from pipelines.errors import PermanentError

log = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20

FFmpegArg: TypeAlias = str | os.PathLike[str] | int | float  # run_ffmpeg passes each as str(arg)


class FFmpegError(PermanentError, RuntimeError):
    """ffmpeg failed; `cmd` is the full command, `stderr` everything it printed. Permanent: the same
    command on the same files fails the same way; the last lines of its output say why."""

    def __init__(self, what: str, cmd: list[str], stderr: str, returncode: int | None = None) -> None:
        self.what = what
        self.cmd = cmd
        self.stderr = stderr
        self.returncode = returncode
        tail = "\n".join(stderr.strip().splitlines()[-STDERR_TAIL_LINES:]) or "(ffmpeg printed nothing)"
        status = f"exit code {returncode}" if returncode is not None else "no exit code"
        super().__init__(f"ffmpeg failed while {what} ({status}).\nLast lines of its output:\n{tail}")


NO_SPACE = "No space left on device"


def ffmpeg_failed(what: str, cmd: list[str], stderr: str, returncode: int | None = None) -> Exception:
    """The error of a failed ffmpeg run: pipelines.errors.DiskFull (retried) when it ran out of disk space
    writing its output (the command's last argument), else FFmpegError."""
    if NO_SPACE in stderr:
        from pipelines.errors import disk_full

        return disk_full(cmd[-1] if cmd else ".", str(FFmpegError(what, cmd, stderr, returncode)))
    return FFmpegError(what, cmd, stderr, returncode)


@cache
def ffmpeg_exe() -> str:
    """Path of the static ffmpeg binary bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@cache
def _dies_with_parent() -> tuple[str, ...]:
    """A prefix that makes a child die with the task process that started it: util-linux's setpriv sets
    PR_SET_PDEATHSIG, then execs the command (so the child keeps its pid and parent). A task SIGKILLed
    mid-render must not leave its encoder running on, burning a core its retry needs. () where there is no
    setpriv (not Linux): the child then outlives a killed task, as before."""
    import shutil

    exe = shutil.which("setpriv")
    return (exe, "--pdeathsig", "KILL", "--") if exe else ()


def spawn_args(cmd: Sequence[str]) -> list[str]:
    """`cmd` as it is started: ended with its parent where the system can (see _dies_with_parent)."""
    return [*_dies_with_parent(), *cmd]


def run_ffmpeg(args: Sequence[FFmpegArg], *, what: str, timeout: float | None = None) -> str:
    """Run ffmpeg with `args` (without the executable). `what` names the step in errors. Returns its stderr
    (where filters such as loudnorm and ebur128 print their measurements).

    Adds `-hide_banner -nostdin -y -loglevel error` unless the caller already set a log level.
    """
    prefix = ["-hide_banner", "-nostdin", "-y"]
    if "-loglevel" not in args and "-v" not in args:
        prefix += ["-loglevel", "error"]
    cmd = [ffmpeg_exe(), *prefix, *[str(a) for a in args]]
    log.info("ffmpeg (%s): %s", what, shlex.join(cmd))
    try:
        proc = subprocess.run(
            spawn_args(cmd), capture_output=True, text=True, errors="replace", timeout=timeout
        )
    except subprocess.TimeoutExpired as e:
        stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise FFmpegError(f"{what} (timed out after {timeout:g} s)", cmd, stderr) from None
    if proc.returncode != 0:
        raise ffmpeg_failed(what, cmd, proc.stderr, proc.returncode)
    if proc.stderr.strip():
        log.debug("ffmpeg (%s) said: %s", what, proc.stderr.strip())
    return proc.stderr


@dataclass
class CpuTime:
    """What `cpu_meter` measured: CPU-seconds (user + system) of the child processes that ended inside it,
    and the wall-clock seconds the block took. Filled in when the block ends, also when it raised."""

    seconds: float = 0.0
    wall_seconds: float = 0.0
    _start: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0), repr=False)


def _children_now() -> tuple[float, float, float]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime, usage.ru_stime, time.monotonic()


@contextmanager
def cpu_meter() -> Iterator[CpuTime]:
    """Measure the CPU time of the ffmpeg runs (run_ffmpeg, probe, the render's) that finish inside the block.

    The kernel's account of this process's waited-for children (getrusage RUSAGE_CHILDREN), read before and
    after: nothing is added to a run, so nothing is slowed down, and ffmpeg's own threads (x264's) are all
    counted. It counts every child process of this process that ends inside the block: a stage runs in a
    task process of its own, whose children are ffmpeg's, so that is ffmpeg's CPU time."""
    meter = CpuTime(_start=_children_now())
    try:
        yield meter
    finally:
        user, system, wall = _children_now()
        meter.seconds = round(user - meter._start[0] + system - meter._start[1], 3)
        meter.wall_seconds = round(wall - meter._start[2], 3)


@dataclass(frozen=True)
class VideoStream:
    codec: str
    width: int
    height: int
    fps: float
    pix_fmt: str


@dataclass(frozen=True)
class AudioStream:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class MediaInfo:
    duration: float  # seconds; 0.0 when the container does not say (e.g. a still image)
    video: VideoStream | None
    audio: AudioStream | None


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #\d+:\d+.*?: (Video|Audio): (.*)$", re.MULTILINE)
_SIZE = re.compile(r"(?:^|[\s,])(\d{2,5})x(\d{2,5})(?=[\s,]|$)")
_FPS = re.compile(r"([\d.]+)(k?) (?:fps|tbr)")
_RATE = re.compile(r"(\d+) Hz")
_LAYOUTS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}


def _split_top(s: str) -> list[str]:
    """Split a stream description at commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def _parse_video(desc: str) -> VideoStream:
    parts = _split_top(desc)
    codec = parts[0].split()[0]
    pix_fmt = parts[1].split("(")[0].strip() if len(parts) > 1 else ""
    size = _SIZE.search(desc)
    width, height = (int(size.group(1)), int(size.group(2))) if size else (0, 0)
    fps = 0.0
    for m in _FPS.finditer(desc):  # "fps" first, else "tbr"
        fps = float(m.group(1)) * (1000 if m.group(2) else 1)
        break
    return VideoStream(codec=codec, width=width, height=height, fps=fps, pix_fmt=pix_fmt)


def _parse_audio(desc: str) -> AudioStream:
    parts = _split_top(desc)
    codec = parts[0].split()[0]
    rate = _RATE.search(desc)
    channels = 0
    for p in parts[1:]:
        layout = p.split("(")[0].strip()
        if layout in _LAYOUTS:
            channels = _LAYOUTS[layout]
            break
        m = re.match(r"(\d+) channels", layout)
        if m:
            channels = int(m.group(1))
            break
    return AudioStream(codec=codec, sample_rate=int(rate.group(1)) if rate else 0, channels=channels)


def parse_probe_output(stderr: str) -> MediaInfo:
    """MediaInfo from the text `ffmpeg -i FILE` prints (first video and first audio stream)."""
    m = _DURATION.search(stderr)
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else 0.0
    video: VideoStream | None = None
    audio: AudioStream | None = None
    for kind, desc in _STREAM.findall(stderr):
        if kind == "Video" and video is None and "attached pic" not in desc:
            video = _parse_video(desc)
        elif kind == "Audio" and audio is None:
            audio = _parse_audio(desc)
    return MediaInfo(duration=duration, video=video, audio=audio)


def probe(path: str | Path) -> MediaInfo:
    """Duration and first video/audio stream of a media file.

    Raises FileNotFoundError if the file is missing, FFmpegError if ffmpeg cannot read it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot probe {path}: no such file")
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]
    proc = subprocess.run(spawn_args(cmd), capture_output=True, text=True, errors="replace", timeout=60)
    # Without an output file ffmpeg always exits 1; the input was read if it printed "Input #0".
    if "Input #0" not in proc.stderr:
        raise FFmpegError(f"probing {path} (not a readable media file)", cmd, proc.stderr, proc.returncode)
    info = parse_probe_output(proc.stderr)
    if info.video is None and info.audio is None:
        raise FFmpegError(f"probing {path} (no audio or video stream)", cmd, proc.stderr, proc.returncode)
    return info


def audio_duration(path: str | Path) -> float:
    """Duration in seconds of an audio (or any media) file."""
    return probe(path).duration
