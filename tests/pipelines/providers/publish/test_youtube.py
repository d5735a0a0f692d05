"""The YouTube publish provider through the real google-api-python-client and google-auth, against a local
server that speaks YouTube's upload and OAuth protocols (tests.helpers.fake_youtube): every item goes up
once, with the metadata it should have, whatever fails in between."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from pipelines.errors import is_permanent
from pipelines.paths import REPO
from pipelines.providers.http import ProviderUnavailable
from pipelines.providers.publish.youtube import QuotaExhausted, TokenRevoked, WrongChannel
from tests.helpers.fake_youtube import FakeYouTube
from tests.helpers.publish import FileStore, MemoryLedger, make_item, youtube_publisher

CHUNK = 256 * 1024
CHANNEL = "UCscience000000000000001"


@pytest.fixture
def fake():
    with FakeYouTube() as f:
        yield f


@pytest.fixture
def token(fake):
    return fake.add_channel(CHANNEL, "Science, Explained")


def finished(fake) -> list:
    return [v for v in fake.videos.values() if v.complete]


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_item_goes_up_with_its_listing_thumbnail_captions_and_playlist(fake, token, tmp_path):
    playlist = fake.add_playlist(CHANNEL, "Space")
    item = make_item(tmp_path, video_bytes=3 * CHUNK + 1000, playlists=(playlist,))
    ledger, store = MemoryLedger(), FileStore(tmp_path / "store.json")
    receipt = youtube_publisher(fake, store, ledger, token, expected=CHANNEL).publish(item)

    [video] = finished(fake)
    assert receipt["video_id"] == video.id and receipt["url"] == f"https://youtu.be/{video.id}"
    assert video.channel_id == CHANNEL and video.sha256 == sha(item.video)
    assert video.snippet["title"] == item.title and video.snippet["tags"] == item.tags
    assert video.snippet["categoryId"] == "28"
    assert video.snippet["defaultLanguage"] == video.snippet["defaultAudioLanguage"] == "en"
    assert video.status["privacyStatus"] == "private"  # scheduled: private until publishAt
    assert video.status["publishAt"] == "2030-01-01T17:00:00Z"
    assert video.status["selfDeclaredMadeForKids"] is False
    assert video.status["containsSyntheticMedia"] is True
    assert video.notify_subscribers is False
    assert video.thumbnail is not None and video.thumbnail.sha256 == sha(item.thumbnail)
    assert [(c.language, "Hello there." in c.text) for c in video.captions] == [("en", True)]
    assert [
        (p["snippet"]["playlistId"], p["snippet"]["resourceId"]["videoId"]) for p in fake.playlist_items
    ] == [(playlist, video.id)]
    assert ledger.methods(ok=True) == [
        "channels.list",
        "videos.insert",
        "thumbnails.set",
        "captions.insert",
        "playlistItems.insert",
    ]
    assert receipt["steps"] == {"thumbnail": "done", "captions": "done", f"playlist:{playlist}": "done"}


def test_publishing_again_uploads_nothing(fake, token, tmp_path):
    item = make_item(tmp_path, video_bytes=2 * CHUNK)
    store, ledger = FileStore(tmp_path / "store.json"), MemoryLedger()
    first = youtube_publisher(fake, store, ledger, token).publish(item)
    sent, requests = fake.bytes_received, len(fake.requests)
    assert youtube_publisher(fake, store, MemoryLedger(), token).publish(item) == first
    assert len(finished(fake)) == 1 and fake.sessions_started == 1
    assert fake.bytes_received == sent and len(fake.requests) == requests  # not even a status query


def test_an_unscheduled_item_goes_up_with_the_configured_privacy(fake, token, tmp_path):
    item = make_item(tmp_path, publish_at=None, privacy="unlisted", thumbnail=None, captions=None)
    youtube_publisher(fake, FileStore(tmp_path / "s.json"), MemoryLedger(), token).publish(item)
    [video] = finished(fake)
    assert video.status["privacyStatus"] == "unlisted" and "publishAt" not in video.status


def test_a_dropped_connection_mid_chunk_resumes_where_the_server_stands(fake, token, tmp_path):
    item = make_item(tmp_path, video_bytes=8 * CHUNK + 5)
    fake.drop_next_chunk(CHUNK // 2)
    store = FileStore(tmp_path / "store.json")
    youtube_publisher(fake, store, MemoryLedger(), token, chunk=2 * CHUNK).publish(item)
    [video] = finished(fake)
    assert video.sha256 == sha(item.video) and fake.sessions_started == 1
    assert fake.bytes_received <= item.video.stat().st_size + 2 * CHUNK


def test_a_503_mid_upload_is_retried_on_the_same_session(fake, token, tmp_path):
    item = make_item(tmp_path, video_bytes=4 * CHUNK)
    fake.fail_next("chunk", 503)
    youtube_publisher(fake, FileStore(tmp_path / "s.json"), MemoryLedger(), token).publish(item)
    [video] = finished(fake)
    assert video.sha256 == sha(item.video) and fake.sessions_started == 1


def test_an_expired_session_starts_a_new_one(fake, token, tmp_path):
    item = make_item(tmp_path, video_bytes=4 * CHUNK)
    store = FileStore(tmp_path / "store.json")
    record = store.load(item)
    fake.drop_next_chunk(CHUNK)  # the first attempt dies mid-upload (here: as many drops as attempts)
    publisher = youtube_publisher(fake, store, MemoryLedger(), token)
    publisher.api.attempts = 1
    with pytest.raises(ProviderUnavailable):
        publisher.publish(item)
    record = store.load(item)
    assert record.session_uri and record.video_id is None
    fake.expire_sessions()
    youtube_publisher(fake, store, MemoryLedger(), token).publish(item)
    assert len(finished(fake)) == 1 and fake.sessions_started == 2


UPLOADER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tests.helpers.fake_youtube import FakeYouTube
    from tests.helpers.publish import FileStore, MemoryLedger, make_item, youtube_publisher

    class Remote:  # the test's fake server, reached by its address
        def __init__(self, url):
            self.url = url
        def client_config(self):
            return {"installed": {"client_id": "cid", "client_secret": "csecret", "auth_uri": self.url + "auth",
                                  "token_uri": self.url + "token"}}

    url, token, folder = sys.argv[1:4]
    item = make_item(Path(folder), video_bytes=int(sys.argv[4]))
    youtube_publisher(Remote(url), FileStore(Path(folder) / "store.json"), MemoryLedger(), token).publish(item)
    """
)


def test_a_process_killed_mid_upload_is_continued_by_the_next_one(fake, token, tmp_path):
    """SIGKILL at half the file: the next process asks the server where it stands and sends the rest; one
    video, and the bytes sent in all at most one chunk more than the file."""
    size = 16 * CHUNK
    item = make_item(tmp_path, video_bytes=size)  # the file both processes upload
    fake.client_config()
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'plugins'}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", UPLOADER, fake.url, token, str(tmp_path), str(size)], env=env, cwd=REPO
    )

    def kill_at_half(held: int) -> None:
        if held >= size // 2 and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)

    fake.on_chunk = kill_at_half
    assert proc.wait(timeout=120) == -signal.SIGKILL
    fake.on_chunk = None
    store = FileStore(tmp_path / "store.json")
    assert 0 < store.load(item).progress < size  # what it had saved before it died
    youtube_publisher(fake, store, MemoryLedger(), token).publish(item)
    [video] = finished(fake)
    assert video.sha256 == sha(item.video) and fake.sessions_started == 1
    assert fake.bytes_received <= size + CHUNK


def test_a_finished_upload_whose_id_was_not_saved_is_recovered_not_repeated(fake, token, tmp_path):
    item = make_item(tmp_path, video_bytes=2 * CHUNK)
    store = FileStore(tmp_path / "store.json")
    youtube_publisher(fake, store, MemoryLedger(), token).publish(item)
    record = store.load(item)
    store.save(replace(record, video_id=None, steps={}))  # as if killed between the last chunk and the save
    receipt = youtube_publisher(fake, store, MemoryLedger(), token).publish(item)
    [video] = finished(fake)
    assert receipt["video_id"] == video.id and fake.sessions_started == 1


def test_quota_exceeded_is_not_retried(fake, token, tmp_path):
    fake.fail_next("insert", 403, "quotaExceeded")
    ledger = MemoryLedger()
    with pytest.raises(QuotaExhausted) as e:
        youtube_publisher(fake, FileStore(tmp_path / "s.json"), ledger, token).publish(make_item(tmp_path))
    assert e.value.reason == "quotaExceeded" and not is_permanent(e.value)
    assert ledger.calls[-1] == ("videos.insert", False, "quotaExceeded")  # failed calls are counted too
    assert [r.path for r in fake.requests].count("/upload/youtube/v3/videos") == 1


def test_the_channels_upload_limit_is_told_apart(fake, token, tmp_path):
    fake.fail_next("insert", 400, "uploadLimitExceeded")
    with pytest.raises(QuotaExhausted) as e:
        youtube_publisher(fake, FileStore(tmp_path / "s.json"), MemoryLedger(), token).publish(
            make_item(tmp_path)
        )
    assert e.value.reason == "uploadLimitExceeded"


def test_a_token_bound_to_another_channel_never_uploads(fake, tmp_path):
    other = fake.add_channel("UCother00000000000000001", "Someone Else")
    with pytest.raises(WrongChannel, match="bound to YouTube channel UCother") as e:
        youtube_publisher(
            fake, FileStore(tmp_path / "s.json"), MemoryLedger(), other, expected=CHANNEL
        ).publish(make_item(tmp_path))
    assert is_permanent(e.value)
    assert fake.sessions_started == 0


def test_a_revoked_token_stops_at_once(fake, token, tmp_path):
    fake.revoke(token)
    with pytest.raises(TokenRevoked, match="nicheflow youtube connect science_en") as e:
        youtube_publisher(fake, FileStore(tmp_path / "s.json"), MemoryLedger(), token).publish(
            make_item(tmp_path)
        )
    assert is_permanent(e.value)
    assert [r.path for r in fake.requests] == ["/token"]  # one refresh, no retry, nothing uploaded


def test_a_rate_limit_is_retried_and_a_thumbnail_the_channel_may_not_set_is_noted(fake, token, tmp_path):
    fake.fail_next("captions", 403, "rateLimitExceeded")
    fake.fail_next("thumbnail", 403, "forbidden")
    ledger = MemoryLedger()
    receipt = youtube_publisher(fake, FileStore(tmp_path / "s.json"), ledger, token).publish(
        make_item(tmp_path)
    )
    [video] = finished(fake)
    assert video.thumbnail is None and len(video.captions) == 1
    assert receipt["steps"]["captions"] == "done"
    assert receipt["steps"]["thumbnail"].startswith("not set")
    assert ("captions.insert", False, "rateLimitExceeded") in ledger.calls


def test_the_calls_still_needed_follow_what_is_done(fake, token, tmp_path):
    playlist = fake.add_playlist(CHANNEL, "Space")
    item = make_item(tmp_path, playlists=(playlist,))
    store = FileStore(tmp_path / "s.json")
    publisher = youtube_publisher(fake, store, MemoryLedger(), token)
    assert publisher.calls(item, store.load(item)) == [
        "channels.list",
        "videos.insert",
        "thumbnails.set",
        "captions.insert",
        "playlistItems.insert",
    ]
    publisher.publish(item)
    assert publisher.calls(item, store.load(item)) == []


def test_every_call_of_a_publish_is_recorded_for_the_items_production(fake, token, tmp_path):
    item = make_item(tmp_path, video_bytes=2 * CHUNK, production_id=42)
    ledger = MemoryLedger()
    youtube_publisher(fake, FileStore(tmp_path / "s.json"), ledger, token).publish(item)
    assert ledger.methods()[:2] == ["channels.list", "videos.insert"]
    assert ledger.productions == [42] * len(ledger.calls)
