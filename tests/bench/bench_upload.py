"""YouTube uploads: what the crash-safe resumable upload costs, and what a crash costs, on this machine.

Uploads a BENCH_UPLOAD_MB (default 200) MB file to the local YouTube of the tests (tests.helpers.fake_youtube,
on loopback) through the real google-api-python-client:
- baseline: the same file in ONE plain PUT of an upload session (chunksize -1: nothing saved along the way,
  nothing resumable after a crash);
- nicheflow: the publisher's resumable upload in 8 MiB chunks, with the session and progress saved after
  every chunk (to a file here; PostgreSQL in production);
- a crash: a process uploading the file is SIGKILLed at 50 %, a new one continues the session; reported:
  the bytes sent again (at most one chunk).
Prints throughput in MB/s and the chunked upload's time as a ratio of the baseline's, measured in this run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipelines.providers.publish.youtube import video_body  # noqa: E402
from tests.helpers.fake_youtube import FakeYouTube  # noqa: E402
from tests.helpers.publish import FileStore, MemoryLedger, make_item, youtube_publisher  # noqa: E402

MB = 1_000_000
SIZE = int(float(os.environ.get("BENCH_UPLOAD_MB", "200")) * MB)
CHUNK = 8 * 1024 * 1024
CHANNEL = "UCbench000000000000000001"
UPLOADER = """
import sys
from pathlib import Path
from tests.helpers.publish import FileStore, MemoryLedger, make_item, youtube_publisher

class Remote:
    def __init__(self, url):
        self.url = url
    def client_config(self):
        return {"installed": {"client_id": "cid", "client_secret": "csecret", "auth_uri": self.url + "auth",
                              "token_uri": self.url + "token"}}

url, token, folder, size, chunk = sys.argv[1:6]
item = make_item(Path(folder), video_bytes=int(size))
store = FileStore(Path(folder) / "store.json")
youtube_publisher(Remote(url), store, MemoryLedger(), token, chunk=int(chunk)).publish(item)
"""


def plain_put(fake: FakeYouTube, token: str, item) -> float:
    """One PUT of the whole file in an upload session, through the same client library; seconds."""
    from googleapiclient.http import MediaFileUpload

    publisher = youtube_publisher(fake, FileStore(item.video.parent / "plain.json"), MemoryLedger(), token)
    media = MediaFileUpload(str(item.video), mimetype="video/mp4", chunksize=-1, resumable=True)
    request = publisher.api.service.videos().insert(
        part="snippet,status", body=video_body(item), media_body=media
    )
    t = time.perf_counter()
    response = None
    while response is None:
        _, response = request.next_chunk()
    return time.perf_counter() - t


def chunked(fake: FakeYouTube, token: str, item, folder: Path, run: int) -> float:
    """The publisher's resumable upload, saving the session after every chunk; seconds."""
    store = FileStore(folder / f"chunked-{run}.json")
    publisher = youtube_publisher(fake, store, MemoryLedger(), token, chunk=CHUNK)
    t = time.perf_counter()
    publisher.api.upload(item.video, video_body(item), False, store.load(item), store, CHUNK)
    return time.perf_counter() - t


def killed_at_half(fake: FakeYouTube, token: str, folder: Path) -> tuple[int, float]:
    """(bytes sent again, seconds of the resumed upload) after a SIGKILL at 50 %."""
    folder.mkdir()
    item = make_item(folder, video_bytes=SIZE)
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'plugins'}"}
    before = fake.bytes_received
    proc = subprocess.Popen(
        [sys.executable, "-c", UPLOADER, fake.url, token, str(folder), str(SIZE), str(CHUNK)],
        env=env,
        cwd=REPO,
    )
    fake.on_chunk = lambda held: (
        held >= SIZE // 2 and proc.poll() is None and os.kill(proc.pid, signal.SIGKILL)
    )
    proc.wait()
    fake.on_chunk = None
    store = FileStore(folder / "store.json")
    t = time.perf_counter()
    youtube_publisher(fake, store, MemoryLedger(), token, chunk=CHUNK).publish(item)
    resumed = time.perf_counter() - t
    return fake.bytes_received - before - SIZE, resumed


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="nicheflow-bench-upload-"))
    with FakeYouTube() as fake:
        token = fake.add_channel(CHANNEL, "Bench")
        fake.client_config()
        item = make_item(folder / "file", video_bytes=SIZE, thumbnail=None, captions=None)
        plain_put(fake, token, item)  # warm-up (page cache, connection)
        base = min(plain_put(fake, token, item) for _ in range(2))
        ours = min(chunked(fake, token, item, folder, run) for run in range(2))
        resent, resumed = killed_at_half(fake, token, folder / "kill")
    mb = SIZE / MB
    print(f"upload of {mb:.0f} MB to the local YouTube (loopback), best of 2:")
    print(f"  one plain PUT (baseline):            {base:6.2f} s  {mb / base:7.1f} MB/s")
    print(
        f"  resumable, {CHUNK // 2**20} MiB chunks, saved each: {ours:6.2f} s  {mb / ours:7.1f} MB/s"
        f"  = {ours / base:.2f}x the baseline"
    )
    print(
        f"  killed at 50 %, resumed by a new process: {resent / 2**20:.2f} MiB sent again "
        f"(at most one chunk, {CHUNK / 2**20:.0f} MiB; this server keeps every whole 256 KiB unit that arrived); "
        f"the rest took {resumed:.2f} s"
    )


if __name__ == "__main__":
    main()
