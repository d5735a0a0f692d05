"""Publish provider: YouTube, through the Data API v3 (google-api-python-client) with one OAuth token per
channel (facts: ../shared/notes/youtube.md).

Publishing an item is: check that the token is bound to the channel the config expects (channels.list),
upload the video in a resumable session (finite chunks; the session URI and the acknowledged bytes are saved
after every chunk), then set the thumbnail, upload the captions and add the video to the playlists, each
step saved as done. A retried task reloads the record: it asks the server where the session stands and
continues, or gets back the finished video instead of uploading it again; an expired session (404) starts
a new one. So an item is uploaded at most once, whatever fails in between.

Errors: `TokenRevoked` (invalid_grant) and `WrongChannel` are permanent; `QuotaExhausted` (quotaExceeded,
uploadLimitExceeded) is neither: the stage waits for the reset, never retries it with backoff; a dropped
connection, 5xx and rateLimitExceeded are retried here a few times, then raised as `ProviderUnavailable`.

Credentials are Airflow connections, read from their environment form (AIRFLOW_CONN_<ID>, JSON), which the
task sets from Airflow's store: `youtube_project_<project>` holds the OAuth client (login = client id,
password = client secret, extra: token_uri, auth_uri, and api_root for a YouTube-compatible endpoint) and
`youtube_<channel>` the channel's token (password = refresh token, extra: channel_id, channel_title)."""

from __future__ import annotations

import http.client
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import Any

from pipelines.providers.http import ProviderError, ProviderRejected, ProviderUnavailable
from pipelines.providers.publish.base import Ledger, PublishItem, UploadRecord, UploadStore

log = logging.getLogger(__name__)

NAME = "YouTube"
SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.force-ssl",
    "https://www.googleapis.com/auth/yt-analytics.readonly",
)
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
UNIT = 256 * 1024  # chunks are a multiple of this
MiB = 1024 * 1024
RETRYABLE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError"}
QUOTA_REASONS = {"quotaExceeded", "uploadLimitExceeded", "dailyLimitExceeded"}


class TokenRevoked(ProviderRejected):
    """Google refused the channel's refresh token (invalid_grant): revoked, expired (7 days while the
    consent screen is in Testing, 6 months unused) or replaced. Only reconnecting the channel helps."""


class WrongChannel(ProviderRejected):
    """The token is bound to another YouTube channel than the one the channel's config expects."""


class NotConnected(ProviderRejected):
    """The channel publishes to YouTube but has no token (or its project no OAuth client) yet."""


class QuotaExhausted(ProviderError):
    """YouTube said no for today: `reason` quotaExceeded (the project's daily units, back at midnight
    Pacific) or uploadLimitExceeded (the channel's rolling 24-hour upload limit). Never retried with
    backoff: the stage waits until the quota is back."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(NAME, 403 if reason == "quotaExceeded" else 400, f"{reason}: {message}")


class SessionExpired(Exception):
    """The saved upload session is gone (404): start a new one."""


def conn_env(conn_id: str) -> str:
    """The environment variable Airflow reads connection `conn_id` from (its JSON form)."""
    return "AIRFLOW_CONN_" + conn_id.upper()


def project_conn_id(project: str) -> str:
    """The connection holding a Google Cloud project's OAuth client."""
    return f"youtube_project_{project}"


def channel_conn_id(channel: str) -> str:
    """The connection holding a channel's token."""
    return f"youtube_{channel}"


def read_connection(conn_id: str) -> dict[str, Any] | None:
    """Connection `conn_id` from its environment form (JSON with login/password/extra), or None."""
    raw = os.environ.get(conn_env(conn_id))
    if not raw:
        return None
    data = json.loads(raw)
    extra = data.get("extra") or {}
    data["extra"] = json.loads(extra) if isinstance(extra, str) else extra
    return data


@dataclass(frozen=True)
class OAuthClient:
    """A Google Cloud project's OAuth client (installed app): whose quota its channels spend."""

    project: str
    client_id: str
    client_secret: str
    token_uri: str = GOOGLE_TOKEN_URI
    auth_uri: str = GOOGLE_AUTH_URI
    api_root: str | None = (
        None  # a YouTube-compatible endpoint instead of Google's (e.g. a local test server)
    )

    @classmethod
    def from_connection(cls, project: str, conn: dict[str, Any]) -> OAuthClient:
        """From connection youtube_project_<project>."""
        extra = conn.get("extra") or {}
        if not conn.get("login") or not conn.get("password"):
            raise NotConnected(
                NAME,
                None,
                f"connection {project_conn_id(project)} needs the OAuth client id as login and its secret "
                "as password (Google Cloud console > APIs & Services > Credentials > a Desktop app client)",
            )
        return cls(
            project,
            conn["login"],
            conn["password"],
            extra.get("token_uri") or GOOGLE_TOKEN_URI,
            extra.get("auth_uri") or GOOGLE_AUTH_URI,
            extra.get("api_root") or None,
        )

    def installed_config(self) -> dict[str, Any]:
        """The client as google-auth-oauthlib's InstalledAppFlow reads it."""
        return {
            "installed": {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "auth_uri": self.auth_uri,
                "token_uri": self.token_uri,
                "redirect_uris": ["http://localhost"],
            }
        }


@dataclass(frozen=True)
class ChannelToken:
    """A channel's refresh token and the YouTube channel it was bound to when it was granted."""

    refresh_token: str
    channel_id: str = ""
    channel_title: str = ""

    @classmethod
    def from_connection(cls, conn: dict[str, Any]) -> ChannelToken:
        """From connection youtube_<channel>."""
        extra = conn.get("extra") or {}
        return cls(conn.get("password") or "", extra.get("channel_id", ""), extra.get("channel_title", ""))


def credentials_for(channel: str, project: str) -> tuple[OAuthClient, ChannelToken]:
    """The project's OAuth client and the channel's token, from their connections; NotConnected says what
    to do when either is missing."""
    client_conn = read_connection(project_conn_id(project))
    if client_conn is None:
        raise NotConnected(
            NAME,
            None,
            f"no OAuth client for project {project!r}: add the Airflow connection {project_conn_id(project)} "
            "(login = client id, password = client secret), then `nicheflow youtube connect "
            f"{channel}`",
        )
    token_conn = read_connection(channel_conn_id(channel))
    if token_conn is None or not token_conn.get("password"):
        raise NotConnected(
            NAME,
            None,
            f"channel {channel} is not connected to YouTube: run `nicheflow youtube connect {channel}`",
        )
    return OAuthClient.from_connection(project, client_conn), ChannelToken.from_connection(token_conn)


def google_credentials(client: OAuthClient, refresh_token: str) -> Any:
    """google-auth credentials of a channel's refresh token (an access token is fetched on first use)."""
    from google.oauth2.credentials import Credentials

    return Credentials(
        token=None,
        refresh_token=refresh_token,
        client_id=client.client_id,
        client_secret=client.client_secret,
        token_uri=client.token_uri,
        scopes=list(SCOPES),
    )


def build_service(client: OAuthClient, token: ChannelToken, api: str = "youtube", version: str = "v3") -> Any:
    """A google-api-python-client service for `api`, from the description bundled with the library (no
    network at build time), authorised by the channel's token, on Google's endpoint or `client.api_root`."""
    from google_auth_httplib2 import AuthorizedHttp
    from googleapiclient.discovery import build_from_document
    from googleapiclient.discovery_cache import get_static_doc
    from googleapiclient.http import build_http

    doc = json.loads(get_static_doc(api, version) or "{}")
    if client.api_root:
        doc["rootUrl"] = client.api_root
    creds = google_credentials(client, token.refresh_token)
    # build_http, not a plain httplib2.Http: that one takes the upload protocol's 308 for a redirect
    return build_from_document(doc, http=AuthorizedHttp(creds, http=build_http()))


def error_reason(e: BaseException) -> tuple[int | None, str, str]:
    """(status, Google's reason, message) of an HttpError."""
    status = getattr(getattr(e, "resp", None), "status", None)
    reason, message = "", str(e)
    try:
        body = json.loads(getattr(e, "content", b"") or b"{}")
        err = body.get("error", {})
        if isinstance(err, dict):
            message = err.get("message", message)
            reason = next((x.get("reason", "") for x in err.get("errors", []) if x.get("reason")), "")
        elif isinstance(err, str):  # the OAuth token endpoint's shape
            reason, message = err, body.get("error_description", err)
    except (ValueError, AttributeError):
        pass
    return (int(status) if status else None), reason, message


def _transport_errors() -> tuple[type[BaseException], ...]:
    import httplib2

    return (OSError, http.client.HTTPException, httplib2.HttpLib2Error)


class YouTubeAPI:
    """The calls the publisher makes, each recorded in the ledger (failed ones too) and mapped to the
    project's error kinds. Transient failures are retried `attempts` times with backoff."""

    def __init__(
        self,
        client: OAuthClient,
        token: ChannelToken,
        ledger: Ledger,
        *,
        channel: str,
        attempts: int = 4,
        backoff: Callable[[int], float] = lambda n: min(30.0, 2.0**n),
        service: Any = None,
    ):
        self.client, self.token, self.ledger, self.channel = client, token, ledger, channel
        self.attempts, self.backoff = attempts, backoff
        self._service = service

    @property
    def service(self) -> Any:
        """The youtube v3 service, built on first use."""
        if self._service is None:
            self._service = build_service(self.client, self.token)
        return self._service

    def fail(self, method: str, e: BaseException) -> ProviderError:
        """The project's error for a failed call of `method`."""
        from google.auth.exceptions import RefreshError, TransportError

        if isinstance(e, RefreshError):
            if "invalid_grant" in str(e):
                return TokenRevoked(
                    NAME,
                    400,
                    f"Google refused channel {self.channel}'s token (invalid_grant: revoked, expired, or the "
                    "consent screen is still in Testing, where tokens last 7 days). Its uploads stop until "
                    f"you reconnect it: `nicheflow youtube connect {self.channel}`",
                )
            return ProviderRejected(NAME, None, f"refreshing channel {self.channel}'s token failed: {e}")
        if isinstance(e, (TransportError, *_transport_errors())):
            return ProviderUnavailable(NAME, None, f"{method}: no answer ({type(e).__name__}: {e})")
        status, reason, message = error_reason(e)
        if reason in QUOTA_REASONS:
            return QuotaExhausted("quotaExceeded" if reason != "uploadLimitExceeded" else reason, message)
        if reason in RETRYABLE_REASONS or (status or 0) >= 500 or status == 429:
            return ProviderUnavailable(NAME, status, f"{method}: {reason or 'error'}: {message}")
        return ProviderRejected(NAME, status, f"{method}: {reason or 'refused'}: {message}")

    def call(self, method: str, request: Any) -> Any:
        """Execute `request` (a google-api-python-client request for `method`)."""
        for attempt in range(1, self.attempts + 1):
            try:
                result = request.execute(num_retries=0)
            except Exception as e:
                err = self.fail(method, e)
                if not isinstance(err, TokenRevoked):  # a refused refresh never reached the API
                    self.ledger.record(method, False, error_reason(e)[1] or type(e).__name__)
                if not isinstance(err, ProviderUnavailable) or attempt == self.attempts:
                    raise err from e
                log.warning("%s: %s; trying again (%d of %d)", method, err, attempt + 1, self.attempts)
                time.sleep(self.backoff(attempt))
                continue
            self.ledger.record(method, True)
            return result
        raise AssertionError("unreachable")

    def bound_channel(self) -> tuple[str, str]:
        """(id, title) of the YouTube channel the token is bound to."""
        found = self.call("channels.list", self.service.channels().list(part="id,snippet", mine=True))
        items = found.get("items") or []
        if not items:
            raise WrongChannel(NAME, None, f"channel {self.channel}'s token has no YouTube channel")
        return items[0]["id"], items[0]["snippet"]["title"]

    def set_thumbnail(self, video_id: str, path: Path) -> None:
        """thumbnails.set: the chosen thumbnail (jpeg or png)."""
        from googleapiclient.http import MediaFileUpload

        mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
        media = MediaFileUpload(str(path), mimetype=mime)
        self.call("thumbnails.set", self.service.thumbnails().set(videoId=video_id, media_body=media))

    def add_captions(self, video_id: str, path: Path, language: str, name: str) -> None:
        """captions.insert: the SRT track in `language`."""
        from googleapiclient.http import MediaFileUpload

        body = {"snippet": {"videoId": video_id, "language": language, "name": name, "isDraft": False}}
        media = MediaFileUpload(str(path), mimetype="application/octet-stream")
        self.call(
            "captions.insert", self.service.captions().insert(part="snippet", body=body, media_body=media)
        )

    def add_to_playlist(self, video_id: str, playlist_id: str) -> None:
        """playlistItems.insert: the video at the end of the playlist."""
        body = {
            "snippet": {
                "playlistId": playlist_id,
                "resourceId": {"kind": "youtube#video", "videoId": video_id},
            }
        }
        self.call("playlistItems.insert", self.service.playlistItems().insert(part="snippet", body=body))

    def upload(
        self, path: Path, body: dict, notify: bool, record: UploadRecord, store: UploadStore, chunk: int
    ) -> str:
        """Upload `path` as a new video (or finish the session `record` holds); returns the video id."""
        from googleapiclient.http import MediaFileUpload

        for _ in range(2):  # the second time only after the saved session expired
            media = MediaFileUpload(str(path), mimetype="video/mp4", chunksize=chunk, resumable=True)
            request = self.service.videos().insert(
                part="snippet,status", body=body, notifySubscribers=notify, media_body=media
            )
            if record.session_uri:
                request.resumable_uri = record.session_uri
                request._in_error_state = True  # the first call asks the server what it holds
            try:
                return self._send(request, record, store)
            except SessionExpired:
                log.warning("upload session of %s expired (404): starting a new one", record.item)
                record.session_uri, record.progress = None, 0
                store.save(record)
        raise ProviderUnavailable(NAME, 404, f"the upload sessions of {record.item} keep expiring")

    def _send(self, request: Any, record: UploadRecord, store: UploadStore) -> str:
        """next_chunk until the video resource comes back, saving the session after every chunk."""
        failures, last_log = 0, 0.0
        while True:
            starting = request.resumable_uri is None
            try:
                _, response = request.next_chunk(num_retries=0)
            except Exception as e:
                if starting and request.resumable_uri:  # the session started, its first chunk failed
                    self._started(request, record, store)
                elif starting:
                    self.ledger.record("videos.insert", False, error_reason(e)[1] or type(e).__name__)
                if getattr(getattr(e, "resp", None), "status", None) == 404 and not starting:
                    raise SessionExpired() from e
                err = self.fail("videos.insert", e)
                failures += 1
                if not isinstance(err, ProviderUnavailable) or failures >= self.attempts:
                    raise err from e
                log.warning("upload of %s: %s; asking the server where it stands", record.item, err)
                time.sleep(self.backoff(failures))
                continue
            if starting:
                self._started(request, record, store)
            failures = 0
            record.progress = record.size if response else request.resumable_progress
            store.save(record)
            if response:
                return response["id"]
            if time.monotonic() - last_log > 5:
                last_log = time.monotonic()
                log.info(
                    "uploading %s: %.1f of %.1f MiB (%.0f %%)",
                    record.item,
                    record.progress / MiB,
                    record.size / MiB,
                    100 * record.progress / max(1, record.size),
                )

    def _started(self, request: Any, record: UploadRecord, store: UploadStore) -> None:
        """A new upload session exists: count it and save its URI before anything else can fail."""
        self.ledger.record("videos.insert", True)
        record.sessions += 1
        record.session_uri, record.progress = request.resumable_uri, 0
        store.save(record)


def video_body(item: PublishItem) -> dict[str, Any]:
    """The video resource sent with the upload, every field the notes say to send explicitly."""
    status: dict[str, Any] = {
        "privacyStatus": "private" if item.publish_at else item.privacy,
        "selfDeclaredMadeForKids": item.made_for_kids,
        "containsSyntheticMedia": True,
        "embeddable": True,
        "license": "youtube",
    }
    if item.publish_at:
        status["publishAt"] = item.publish_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "snippet": {
            "title": item.title,
            "description": item.description,
            "tags": item.tags,
            "categoryId": item.category_id,
            "defaultLanguage": item.language,
            "defaultAudioLanguage": item.language,
        },
        "status": status,
    }


class YouTubePublisher:
    """Publishes a channel's items on YouTube (see the module docstring); `expected_channel` is the YouTube
    channel id the config names (else the one the token was bound to when connected)."""

    name = NAME

    def __init__(
        self, api: YouTubeAPI, store: UploadStore, expected_channel: str, chunk_bytes: int = 8 * MiB
    ):
        if chunk_bytes <= 0 or chunk_bytes % UNIT:
            raise ValueError(f"chunk size {chunk_bytes} is not a positive multiple of 256 KiB")
        self.api, self.store, self.expected, self.chunk = api, store, expected_channel, chunk_bytes

    def calls(self, item: PublishItem, record: UploadRecord | None = None) -> list[str]:
        """The calls still to make: binding check and upload unless uploaded, then each step not done."""
        steps = dict(record.steps) if record else {}
        if record and record.video_id:
            need = []
        else:  # the binding check, and a new upload session unless one is under way
            need = ["channels.list"] + ([] if record and record.session_uri else ["videos.insert"])
        if item.thumbnail and "thumbnail" not in steps:
            need.append("thumbnails.set")
        if item.captions and "captions" not in steps:
            need.append("captions.insert")
        need += ["playlistItems.insert" for p in item.playlists if f"playlist:{p}" not in steps]
        return need

    def check_channel(self, record: UploadRecord) -> None:
        """Refuse a token bound to another channel than the expected one (it must never upload)."""
        found, title = self.api.bound_channel()
        if self.expected and found != self.expected:
            raise WrongChannel(
                NAME,
                None,
                f"channel {self.api.channel}'s token is bound to YouTube channel {found} ({title}), not "
                f"{self.expected}: nothing was uploaded. Reconnect it with `nicheflow youtube connect "
                f"{self.api.channel}` and pick the right channel (or fix publish.youtube.channel_id)",
            )
        record.youtube_channel = found

    def publish(self, item: PublishItem) -> dict:
        """Upload once (or finish the upload), then the steps not done; returns the receipt."""
        record = self.store.load(item)
        if not record.video_id:
            self.check_channel(record)
            record.video_id = self.api.upload(
                item.video, video_body(item), item.notify_subscribers, record, self.store, self.chunk
            )
            self.store.save(record)
            log.info("uploaded %s: https://youtu.be/%s", item.name, record.video_id)
        self._follow_up(item, record)
        return {
            "provider": self.name,
            "video_id": record.video_id,
            "url": f"https://youtu.be/{record.video_id}",
            "youtube_channel": record.youtube_channel,
            "publish_at": item.publish_at.isoformat() if item.publish_at else None,
            "privacy": "private" if item.publish_at else item.privacy,
            "dag_run_id": item.dag_run_id,
            "steps": record.steps,
        }

    def _follow_up(self, item: PublishItem, record: UploadRecord) -> None:
        """Thumbnail, captions and playlists, each once. A thumbnail the channel may not set (403: custom
        thumbnails need a verified channel) is recorded as not done, and the rest goes on."""
        assert record.video_id
        vid = record.video_id
        steps: list[tuple[str, Callable[[], None]]] = []
        if item.thumbnail:
            thumb = item.thumbnail
            steps.append(("thumbnail", lambda: self.api.set_thumbnail(vid, thumb)))
        if item.captions:
            srt = item.captions
            steps.append(("captions", lambda: self.api.add_captions(vid, srt, item.language, item.language)))
        for playlist in item.playlists:
            steps.append((f"playlist:{playlist}", partial(self.api.add_to_playlist, vid, playlist)))
        for step, do in steps:
            if step in record.steps:
                continue
            try:
                do()
                record.steps[step] = "done"
            except ProviderRejected as e:
                if isinstance(e, TokenRevoked) or step != "thumbnail" or e.status != 403:
                    raise
                record.steps[step] = f"not set: {e.message}"
                log.warning("%s: thumbnail not set (%s); the video keeps YouTube's own", item.name, e.message)
            self.store.save(record)
