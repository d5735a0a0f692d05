"""The YouTube fake (tests/helpers/fake_youtube.py) driven by the real google-api-python-client, google-auth
and google-auth-oauthlib: the upload protocol, resuming, OAuth and errors behave as the notes say, so
tests of the publish provider can trust it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import threading

import google_auth_httplib2
import httpx
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import InstalledAppFlow
from googleapiclient import discovery_cache
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError, ResumableUploadError
from googleapiclient.http import MediaFileUpload, build_http

from tests.helpers import free_port
from tests.helpers.fake_youtube import SCOPE, UNIT, FakeYouTube, check_video, tags_length

CHANNEL, OTHER = "UCnicheflowAAAAAAAAAAAAA", "UCsomeoneelseBBBBBBBBBBB"
METADATA = {
    "snippet": {
        "title": "Como funciona o Hubble",
        "description": "Um vídeo.",
        "tags": ["hubble", "nasa esa"],
    },
    "status": {"privacyStatus": "private", "selfDeclaredMadeForKids": False},
}


@pytest.fixture
def fake():
    with FakeYouTube() as f:
        yield f


@pytest.fixture
def refresh_token(fake: FakeYouTube) -> str:
    return fake.add_channel(CHANNEL, "Ciência em 5 minutos")


@pytest.fixture
def video_file(tmp_path):
    path = tmp_path / "video.mp4"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 12345))  # 12 whole units and a short last chunk
    return path


def credentials(fake: FakeYouTube, refresh_token: str) -> Credentials:
    return Credentials(
        token=None,
        refresh_token=refresh_token,
        client_id="cid",
        client_secret="csecret",
        token_uri=fake.url + "token",
    )


def youtube(fake: FakeYouTube, creds: Credentials):
    doc = json.loads(discovery_cache.get_static_doc("youtube", "v3"))
    doc["rootUrl"] = fake.url
    return build_from_document(doc, http=google_auth_httplib2.AuthorizedHttp(creds, http=build_http()))


def insert(yt, path, chunksize: int = UNIT, body: dict | None = None):
    media = MediaFileUpload(str(path), mimetype="video/mp4", chunksize=chunksize, resumable=True)
    return yt.videos().insert(
        part="snippet,status", body=body or METADATA, notifySubscribers=False, media_body=media
    )


def finish(req, errors: list | None = None, limit: int = 100) -> dict:
    """next_chunk() until done, as a caller must: a dropped connection is raised, then next_chunk() again."""
    for _ in range(limit):
        try:
            _, response = req.next_chunk()
        except OSError as e:
            if errors is None:
                raise
            errors.append(e)
            continue
        if response is not None:
            return response
    raise AssertionError(f"upload not done after {limit} calls")


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def puts(fake: FakeYouTube) -> list[str]:
    return [r.headers.get("content-range", "") for r in fake.requests if r.method == "PUT"]


# -- resumable upload -----------------------------------------------------------------------------------
def test_resumable_upload_in_256k_chunks(fake, refresh_token, video_file) -> None:
    yt = youtube(fake, credentials(fake, refresh_token))
    response = finish(insert(yt, video_file))

    video = fake.videos[response["id"]]
    size = video_file.stat().st_size
    assert response["kind"] == "youtube#video" and response["snippet"]["title"] == "Como funciona o Hubble"
    assert (
        response["status"]["privacyStatus"] == "private" and response["status"]["uploadStatus"] == "uploaded"
    )
    assert (video.complete, video.size, video.sha256) == (True, size, sha256(video_file))
    assert (video.channel_id, video.notify_subscribers) == (CHANNEL, False)
    assert fake.sessions_started == 1 and fake.bytes_received == size
    assert puts(fake)[:2] == [f"bytes 0-262143/{size}", f"bytes 262144-524287/{size}"]
    start = next(r for r in fake.requests if r.method == "POST" and r.path == "/upload/youtube/v3/videos")
    assert start.query["uploadType"] == "resumable" and start.headers["x-upload-content-length"] == str(size)
    assert start.json == METADATA


@pytest.mark.parametrize("after_bytes", [0, 300_000, 4 * UNIT])
def test_dropped_connection_resumes_from_what_the_server_holds(
    fake, refresh_token, video_file, after_bytes
) -> None:
    yt = youtube(fake, credentials(fake, refresh_token))
    req = insert(yt, video_file, chunksize=4 * UNIT)
    fake.drop_next_chunk(after_bytes)
    errors: list[OSError] = []
    response = finish(req, errors)

    assert len(errors) == 1 and isinstance(errors[0], ConnectionResetError | BrokenPipeError)
    size, held = video_file.stat().st_size, after_bytes // UNIT * UNIT
    status_query = puts(fake)[1]  # the client asks by itself on the next next_chunk()
    assert status_query == f"bytes */{size}" and puts(fake)[2].startswith(f"bytes {held}-")
    assert fake.videos[response["id"]].sha256 == sha256(video_file)
    assert fake.sessions_started == 1 and len(fake.videos) == 1
    assert size <= fake.bytes_received <= size + 4 * UNIT


def test_a_new_process_resumes_the_saved_session_and_a_done_session_returns_its_video(
    fake, refresh_token, video_file
) -> None:
    first = insert(youtube(fake, credentials(fake, refresh_token)), video_file)
    first.next_chunk()
    first.next_chunk()
    saved_uri = first.resumable_uri  # what the uploader persisted before it died
    assert "upload_id=" in saved_uri and first.resumable_progress == 2 * UNIT

    for _ in range(2):  # resume and finish; then, as a retry after a crash at the end would, ask again
        req = insert(youtube(fake, credentials(fake, refresh_token)), video_file)
        req.resumable_uri, req._in_error_state = saved_uri, True
        response = finish(req)
        assert fake.videos[response["id"]].sha256 == sha256(video_file)

    size = video_file.stat().st_size
    assert fake.sessions_started == 1 and list(fake.videos) == [response["id"]]
    assert (
        puts(fake).count(f"bytes */{size}") == 2
        and puts(fake)[3] == f"bytes {2 * UNIT}-{3 * UNIT - 1}/{size}"
    )
    assert fake.bytes_received == size


def test_a_chunk_from_a_stale_offset_gets_the_range_held_and_corrupts_nothing(
    fake, refresh_token, video_file
):
    first = insert(youtube(fake, credentials(fake, refresh_token)), video_file)
    first.next_chunk()
    first.next_chunk()
    req = insert(youtube(fake, credentials(fake, refresh_token)), video_file)
    req.resumable_uri = first.resumable_uri  # trusting a stale saved progress (0) instead of asking
    response = finish(req)
    size = video_file.stat().st_size
    assert puts(fake)[2:4] == [f"bytes 0-{UNIT - 1}/{size}", f"bytes {2 * UNIT}-{3 * UNIT - 1}/{size}"]
    assert fake.videos[response["id"]].sha256 == sha256(video_file) and fake.bytes_received == size + UNIT


def test_protocol_details_a_client_may_not_show(fake, refresh_token) -> None:
    """Raw HTTP: what the server answers that the client library hides or never sends."""
    with httpx.Client(base_url=fake.url, trust_env=False, timeout=10) as http:
        token = http.post(
            "token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
        ).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        meta = {"snippet": {"title": "t"}}
        start = http.post("upload/youtube/v3/videos?uploadType=resumable&part=id", json=meta, headers=auth)
        session, total = start.headers["location"], 3 * UNIT + 10

        def put(content_range: str, body: bytes = b"") -> httpx.Response:
            return http.put(session, content=body, headers={"Content-Range": content_range})

        query = put(f"bytes */{total}")
        assert query.status_code == 308 and "range" not in query.headers  # nothing held: start at 0
        odd = put(f"bytes 0-{UNIT + 99}/{total}", b"x" * (UNIT + 100))  # not whole units: the tail is dropped
        assert odd.status_code == 308 and odd.headers["range"] == f"bytes=0-{UNIT - 1}"
        assert put(f"bytes {2 * UNIT}-{2 * UNIT}/{total}", b"x").headers["range"] == f"bytes=0-{UNIT - 1}"
        assert put(f"bytes 0-9/{total}", b"x").status_code == 400  # Content-Range and body disagree
        done = put(f"bytes {UNIT}-{total - 1}/{total}", b"y" * (total - UNIT))
        assert (
            done.status_code == 200
            and done.json()["kind"] == "youtube#video"
            and "snippet" not in done.json()
        )
        assert put(f"bytes */{total}").json() == done.json()
        assert (
            http.get("youtube/v3/channels?part=id&mine=true").json()["error"]["errors"][0]["reason"]
            == "required"
        )


def test_the_token_endpoint_checks_client_code_and_verifier(fake, refresh_token) -> None:
    fake.client_config("cid", "csecret")
    with httpx.Client(base_url=fake.url, trust_env=False, timeout=10) as http:
        consent = {"response_type": "code", "client_id": "cid", "redirect_uri": "http://localhost:1/"}
        consent |= {
            "scope": SCOPE + "youtube.upload",
            "code_challenge": "abc",
            "code_challenge_method": "plain",
        }
        code = httpx.URL(http.get("auth", params=consent).headers["location"]).params["code"]
        exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost:1/"}
        wrong = http.post("token", data=exchange | {"code_verifier": "abd"}, auth=("cid", "csecret"))
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        refresh = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        assert http.post("token", data=refresh, auth=("cid", "not-it")).json()["error"] == "invalid_client"
        fresh = http.post("token", data=refresh, auth=("cid", "csecret")).json()
        assert (
            fresh["token_type"] == "Bearer" and fresh["expires_in"] == 3600 and "refresh_token" not in fresh
        )


def test_expired_session_answers_404(fake, refresh_token, video_file) -> None:
    req = insert(youtube(fake, credentials(fake, refresh_token)), video_file)
    req.next_chunk()
    fake.expire_sessions()
    with pytest.raises(HttpError) as e:
        req.next_chunk()
    assert e.value.status_code == 404 and req._in_error_state


def test_a_5xx_on_a_chunk_is_retried_by_the_caller_after_a_status_query(
    fake, refresh_token, video_file
) -> None:
    req = insert(youtube(fake, credentials(fake, refresh_token)), video_file)
    fake.fail_next("chunk", 503)
    with pytest.raises(HttpError) as e:
        req.next_chunk()
    assert e.value.status_code == 503 and e.value.error_details[0]["reason"] == "backendError"
    assert fake.videos[finish(req)["id"]].sha256 == sha256(video_file)
    assert puts(fake)[1] == f"bytes */{video_file.stat().st_size}"


def test_on_chunk_sees_the_bytes_held(fake, refresh_token, video_file) -> None:
    held: list[int] = []
    fake.on_chunk = held.append
    finish(insert(youtube(fake, credentials(fake, refresh_token)), video_file, chunksize=8 * UNIT))
    assert held == [8 * UNIT, video_file.stat().st_size]


# -- errors -----------------------------------------------------------------------------------------------
def test_quota_exceeded_and_upload_limit_on_insert_are_http_errors(fake, refresh_token, video_file) -> None:
    yt = youtube(fake, credentials(fake, refresh_token))
    fake.quota_exhausted = True
    with pytest.raises(ResumableUploadError) as e:
        insert(yt, video_file).next_chunk()
    assert isinstance(e.value, HttpError) and e.value.status_code == 403
    assert e.value.error_details[0]["reason"] == "quotaExceeded"
    assert e.value.error_details[0]["domain"] == "youtube.quota"
    assert e.value.reason.startswith("The request cannot be completed because you have exceeded your")
    assert fake.sessions_started == 0

    fake.quota_exhausted, fake.upload_limit = False, 1
    finish(insert(yt, video_file))
    with pytest.raises(HttpError) as e:
        insert(yt, video_file).next_chunk()
    assert e.value.status_code == 400 and e.value.error_details[0]["reason"] == "uploadLimitExceeded"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"snippet": {"title": "x" * 101}}, "invalidTitle"),
        ({"snippet": {"title": "a <b>"}}, "invalidTitle"),
        ({"snippet": {"title": "t", "description": "ã" * 2501}}, "invalidDescription"),  # 5002 bytes
        ({"snippet": {"title": "t", "tags": ["ab cd"] * 72}}, "invalidTags"),  # 72 * 7 + 71 commas
        ({"status": {"privacyStatus": "public", "publishAt": "2099-01-01T10:00:00Z"}}, "invalidPublishAt"),
    ],
)
def test_metadata_is_checked_as_youtube_does(fake, refresh_token, video_file, change, reason) -> None:
    body = {k: {**METADATA[k], **change.get(k, {})} for k in METADATA}
    with pytest.raises(HttpError) as e:
        insert(youtube(fake, credentials(fake, refresh_token)), video_file, body=body).next_chunk()
    assert e.value.status_code == 400 and e.value.error_details[0]["reason"] == reason
    assert fake.sessions_started == 0


def test_limits_at_their_edges_pass() -> None:
    check_video(
        {"snippet": {"title": "x" * 100, "description": "ã" * 2500, "tags": ["ab cd"] * 62 + ["abcd"]}}
    )
    check_video(
        {
            "snippet": {"title": "t"},
            "status": {"privacyStatus": "private", "publishAt": "2099-01-01T10:00:00Z"},
        }
    )
    assert tags_length(["ab cd"] * 62 + ["abcd"]) == 62 * 7 + 4 + 62 == 500


def test_revoked_or_unknown_refresh_token_raises_refresh_error(fake, refresh_token) -> None:
    fake.revoke(refresh_token)
    for token in (refresh_token, "1//never-issued"):
        with pytest.raises(RefreshError) as e:
            youtube(fake, credentials(fake, token)).channels().list(part="id", mine=True).execute()
        assert "invalid_grant" in e.value.args[0] and not e.value.retryable
        assert e.value.args[1]["error_description"] == "Token has been expired or revoked."
    assert fake.requests[-1].form["grant_type"] == "refresh_token"


def test_an_expired_access_token_is_refreshed_and_the_call_retried(fake, refresh_token) -> None:
    yt = youtube(fake, credentials(fake, refresh_token))
    yt.channels().list(part="id", mine=True).execute()
    fake.expire_tokens()
    assert yt.channels().list(part="id", mine=True).execute()["items"][0]["id"] == CHANNEL
    assert [r.status for r in fake.requests] == [200, 200, 401, 200, 200]


def test_a_call_without_a_scope_it_needs_is_refused(fake) -> None:
    fake.add_channel(CHANNEL, "Ciência")
    upload_only = fake.grant(CHANNEL, scopes=[SCOPE + "youtube.upload"])
    with pytest.raises(HttpError) as e:
        youtube(fake, credentials(fake, upload_only)).channels().list(part="id", mine=True).execute()
    assert e.value.status_code == 403 and e.value.error_details[0]["reason"] == "insufficientPermissions"


# -- the JSON and media endpoints -------------------------------------------------------------------------
def test_thumbnail_captions_playlist_and_lists(fake, refresh_token, video_file, tmp_path) -> None:
    yt = youtube(fake, credentials(fake, refresh_token))
    video_id = finish(insert(yt, video_file, chunksize=-1))["id"]
    jpg, srt = tmp_path / "thumb.jpg", tmp_path / "pt.srt"
    jpg.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(5000) + b"\r\n\n\xff\xd9")
    srt.write_text("1\n00:00:00,000 --> 00:00:02,500\nOlá, ciência!\n\n", encoding="utf-8")

    answer = (
        yt.thumbnails()
        .set(videoId=video_id, media_body=MediaFileUpload(str(jpg), mimetype="image/jpeg"))
        .execute()
    )
    assert answer["kind"] == "youtube#thumbnailSetResponse" and answer["items"][0]["default"]["url"]
    thumb = fake.videos[video_id].thumbnail
    assert (thumb.size, thumb.sha256, thumb.content_type) == (jpg.stat().st_size, sha256(jpg), "image/jpeg")

    snippet = {"videoId": video_id, "language": "pt-BR", "name": "Português", "isDraft": False}
    media = MediaFileUpload(str(srt), mimetype="application/octet-stream")
    caption = yt.captions().insert(part="snippet", body={"snippet": snippet}, media_body=media).execute()
    assert caption["kind"] == "youtube#caption" and caption["snippet"]["language"] == "pt-BR"
    assert [(c.language, c.text) for c in fake.videos[video_id].captions] == [("pt-BR", srt.read_text())]

    playlist = fake.add_playlist(CHANNEL, "Astronomia")
    resource = {"kind": "youtube#video", "videoId": video_id}
    item = yt.playlistItems().insert(
        part="snippet", body={"snippet": {"playlistId": playlist, "resourceId": resource}}
    )
    assert (
        item.execute()["snippet"]["position"] == 0
        and fake.playlist_items[0]["snippet"]["resourceId"] == resource
    )

    assert yt.playlists().list(part="snippet", mine=True).execute()["items"][0]["id"] == playlist
    channels = yt.channels().list(part="id,snippet", mine=True).execute()["items"]
    assert channels == [
        {
            "kind": "youtube#channel",
            "id": CHANNEL,
            "snippet": {"title": "Ciência em 5 minutos", "description": ""},
        }
    ]
    fake.videos[video_id].statistics["viewCount"] = 42
    listed = yt.videos().list(part="snippet,statistics", id=f"{video_id},nope").execute()["items"]
    assert [(v["id"], v["statistics"]["viewCount"]) for v in listed] == [(video_id, "42")]


def test_another_channels_or_an_unknown_video_is_refused(fake, refresh_token, video_file, tmp_path) -> None:
    video_id = finish(insert(youtube(fake, credentials(fake, refresh_token)), video_file, chunksize=-1))["id"]
    other = youtube(fake, credentials(fake, fake.add_channel(OTHER, "Outro")))
    jpg = tmp_path / "t.jpg"
    jpg.write_bytes(b"\xff\xd8\xff\xd9")
    for vid, status, reason in ((video_id, 403, "forbidden"), ("noSuchVideo", 404, "videoNotFound")):
        with pytest.raises(HttpError) as e:
            other.thumbnails().set(
                videoId=vid, media_body=MediaFileUpload(str(jpg), mimetype="image/jpeg")
            ).execute()
        assert (e.value.status_code, e.value.error_details[0]["reason"]) == (status, reason)
    assert other.videos().list(part="id", id=video_id).execute()["items"] == []


# -- consent: InstalledAppFlow.run_local_server -----------------------------------------------------------
class _Lines:
    """A stdout that hands each printed line to a queue (the flow prints the consent URL)."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.lines.put(line.strip())
        return len(text)

    def flush(self) -> None:
        pass


def test_installed_app_flow_gets_a_refresh_token_for_the_channel_chosen(fake, monkeypatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # oauthlib refuses http:// endpoints otherwise
    fake.add_channel(OTHER, "Outro")
    fake.add_channel(CHANNEL, "Ciência em 5 minutos")
    fake.consent_channel = CHANNEL
    scopes = [SCOPE + "youtube.upload", SCOPE + "youtube.force-ssl", SCOPE + "yt-analytics.readonly"]
    flow = InstalledAppFlow.from_client_config(fake.client_config(), scopes=scopes)
    got: dict = {}

    def consent() -> None:
        got["creds"] = flow.run_local_server(
            port=free_port(), open_browser=False, prompt="select_account consent",
            authorization_prompt_message="{url}", timeout_seconds=10,
        )  # fmt: skip

    out = _Lines()
    with contextlib.redirect_stdout(out):
        thread = threading.Thread(target=consent, daemon=True)
        thread.start()
        url = out.lines.get(timeout=10)
        with httpx.Client(trust_env=False, follow_redirects=True, timeout=10) as browser:
            page = browser.get(url)  # the fake's 302 lands on the flow's local server
        thread.join(timeout=10)
    assert page.status_code == 200 and not thread.is_alive()

    auth = next(r for r in fake.requests if r.path == "/auth").query
    assert auth["prompt"] == "select_account consent" and auth["access_type"] == "offline"
    assert auth["scope"].split() == scopes and auth["code_challenge_method"] == "S256"
    creds = got["creds"]
    assert creds.refresh_token.startswith("1//") and set(creds.granted_scopes or creds.scopes) == set(scopes)
    assert youtube(fake, creds).channels().list(part="id", mine=True).execute()["items"][0]["id"] == CHANNEL
    exchange = next(r for r in fake.requests if r.form and r.form.get("grant_type") == "authorization_code")
    assert exchange.form["code_verifier"] and exchange.headers["authorization"].startswith("Basic ")
