"""The ffmpeg wrapper against the real (bundled) ffmpeg."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.media.ffmpeg import FFmpegError, audio_duration, parse_probe_output, probe, run_ffmpeg


def test_failure_names_the_step_and_carries_stderr(tmp_path: Path) -> None:
    missing = tmp_path / "missing.wav"
    with pytest.raises(FFmpegError) as exc:
        run_ffmpeg(["-i", str(missing), str(tmp_path / "out.mp4")], what="mixing the narration")
    err = exc.value
    assert "mixing the narration" in str(err)
    assert "No such file or directory" in err.stderr
    assert "No such file or directory" in str(err)  # the tail of stderr is in the message
    assert err.cmd[0].endswith(("ffmpeg", ".exe")) or "ffmpeg" in Path(err.cmd[0]).name
    assert str(missing) in err.cmd


def test_probe_of_a_generated_clip(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=1.5", "-f", "lavfi", "-i", "sine=d=1.5:sample_rate=44100",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-shortest", str(clip)],
        what="making a test clip",
    )  # fmt: skip
    info = probe(clip)
    assert info.duration == pytest.approx(1.5, abs=0.05)
    assert info.video is not None and info.audio is not None
    assert (info.video.codec, info.video.width, info.video.height) == ("h264", 160, 90)
    assert info.video.fps == pytest.approx(25)
    assert info.video.pix_fmt == "yuv420p"
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 44100, 2)


def test_audio_duration_of_a_wav(tmp_path: Path) -> None:
    wav = tmp_path / "tone.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=d=2.25:sample_rate=22050", str(wav)], what="making a tone")
    assert audio_duration(wav) == pytest.approx(2.25, abs=0.02)
    assert probe(wav).video is None


def test_probe_missing_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        probe(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video")
    with pytest.raises(FFmpegError, match="not a readable media file"):
        probe(junk)


def test_parse_probe_output_variants() -> None:
    text = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 01:02:03.45, start: 0.000000, bitrate: 1000 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 900 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono, fltp, 128 kb/s (default)
"""  # noqa: E501
    info = parse_probe_output(text)
    assert info.duration == pytest.approx(3723.45)
    assert info.video is not None and info.video.width == 1920 and info.video.fps == pytest.approx(29.97)
    assert info.audio is not None and info.audio.channels == 1 and info.audio.sample_rate == 48000


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_disk_is_a_retried_error_saying_which_disk(tmp_path: Path) -> None:
    """ffmpeg writing to a disk with no room left: DiskFull (worth retrying once there is space), naming the
    folder, how full it is and what to do, with ffmpeg's own words after it; no half file is left."""
    import subprocess

    from pipelines.errors import DiskFull, is_permanent
    from pipelines.files import atomic_output

    disk = tmp_path / "small"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], check=True)
    try:
        with pytest.raises(DiskFull) as info, atomic_output(disk / "noise.wav") as tmp:
            run_ffmpeg(["-f", "lavfi", "-i", "anoisesrc=d=5", "-f", "wav", tmp], what="writing a long noise")
        assert not is_permanent(info.value)
        msg = str(info.value)
        assert msg.startswith(f"the disk holding {disk} is full (") and "while writing noise.wav" in msg, msg
        assert "free space on it" in msg and "the task is retried" in msg
        assert "No space left on device" in msg  # ffmpeg's words follow
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_an_encoder_dies_with_the_task_process_that_started_it(tmp_path):
    """A task SIGKILLed mid-render (an out-of-memory kill, a lost worker) takes its ffmpeg with it: an
    orphaned encoder would burn a core the retry needs, and write a file nobody will read."""
    import signal
    import subprocess
    import sys

    import psutil

    from tests.helpers import wait_for

    out = tmp_path / "endless.mkv"
    task = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pipelines.media.ffmpeg import run_ffmpeg; run_ffmpeg(['-re', '-f', 'lavfi', '-i',"
            " 'testsrc=s=64x64:r=5:d=3600', sys.argv[1]], what='a render that never ends')",
            str(out),
        ]
    )
    try:

        def encoder():
            kids = psutil.Process(task.pid).children()
            return next((k for k in kids if str(out) in k.cmdline()), None) if out.exists() else None

        ffmpeg = wait_for("the encoder to start writing", encoder, timeout=120, every=0.2)
        assert ffmpeg.ppid() == task.pid  # the encoder itself, not a wrapper
        task.send_signal(signal.SIGKILL)
        task.wait(timeout=30)
        gone, _ = psutil.wait_procs([ffmpeg], timeout=30)
        assert gone, f"ffmpeg {ffmpeg.pid} outlived the task that started it"
    finally:
        task.kill()
        for p in psutil.process_iter(["cmdline"]):
            if str(out) in (p.info["cmdline"] or []):
                p.kill()
