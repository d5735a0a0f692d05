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

Credentials, the service and the call loop (ledger, retries, error kinds) are shared with the analytics
provider in pipelines.providers.google; its names are importable from here too. Every call made while
publishing an item is recorded for that item's production (its cost)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import Any

from pipelines.providers.google import (
    GOOGLE_AUTH_URI,
    GOOGLE_TOKEN_URI,
    NAME,
    QUOTA_REASONS,
    RETRYABLE_REASONS,
    SCOPES,
    ChannelToken,
    GoogleAPI,
    NotConnected,
    OAuthClient,
    QuotaExhausted,
    TokenRevoked,
    WrongChannel,
    build_service,
    channel_conn_id,
    conn_env,
    credentials_for,
    error_reason,
    google_credentials,
    project_conn_id,
    read_connection,
)
from pipelines.providers.http import ProviderRejected, ProviderUnavailable
from pipelines.providers.publish.base import PublishItem, UploadRecord, UploadStore

__all__ = [  # the shared names, importable from here as before they moved to pipelines.providers.google
    "GOOGLE_AUTH_URI",
    "GOOGLE_TOKEN_URI",
    "NAME",
    "QUOTA_REASONS",
    "RETRYABLE_REASONS",
    "SCOPES",
    "ChannelToken",
    "NotConnected",
    "OAuthClient",
    "QuotaExhausted",
    "TokenRevoked",
    "WrongChannel",
    "YouTubeAPI",
    "YouTubePublisher",
    "build_service",
    "channel_conn_id",
    "conn_env",
    "credentials_for",
    "error_reason",
    "google_credentials",
    "project_conn_id",
    "read_connection",
    "video_body",
]

log = logging.getLogger(__name__)

UNIT = 256 * 1024  # chunks are a multiple of this
MiB = 1024 * 1024


class SessionExpired(Exception):
    """The saved upload session is gone (404): start a new one."""


class YouTubeAPI(GoogleAPI):
    """The Data API v3 calls the publisher makes, each recorded in the ledger (failed ones too) and mapped to
    the project's error kinds (pipelines.providers.google.GoogleAPI). Transient failures are retried
    `attempts` times with backoff."""

    @property
    def service(self) -> Any:
        """The youtube v3 service, built on first use."""
        if self._service is None:
            self._service = build_service(self.client, self.token)
        return self._service

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
                    self.record("videos.insert", False, error_reason(e)[1] or type(e).__name__)
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
        self.record("videos.insert", True)
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
        """Upload once (or finish the upload), then the steps not done; returns the receipt. Every call is
        recorded in the ledger for the item's production."""
        self.api.production_id = item.production_id
        try:
            return self._publish(item)
        finally:
            self.api.production_id = None

    def _publish(self, item: PublishItem) -> dict:
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
