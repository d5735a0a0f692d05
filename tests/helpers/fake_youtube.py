"""A local stand-in for YouTube Data API v3 and Google's OAuth 2.0 endpoints, for tests that drive the real
google-api-python-client, google-auth and google-auth-oauthlib against it (HTTP on 127.0.0.1, port 0).

Point the client at it with the bundled description: `doc = json.loads(discovery_cache.get_static_doc(
"youtube", "v3")); doc["rootUrl"] = fake.url; build_from_document(doc, http=AuthorizedHttp(creds,
http=build_http()))`, with `token_uri=fake.url + "token"` (or `fake.client_config()` for InstalledAppFlow;
oauthlib then needs OAUTHLIB_INSECURE_TRANSPORT=1 for plain HTTP). It speaks:
- `GET /auth` (consent: 302 to redirect_uri with a code for `consent_channel`) and `POST /token`
  (authorization_code with PKCE, refresh_token; unknown or revoked refresh tokens get `invalid_grant`).
- `POST /upload/youtube/v3/videos?uploadType=resumable` (metadata checked as YouTube does: invalidTitle,
  invalidDescription, invalidTags, invalidPublishAt) -> 200 + Location; `PUT` chunks with `Content-Range:
  bytes A-B/N` -> 308 + Range or 200 + the video; `bytes */N` status queries; expired sessions answer 404.
  Only whole 256 KiB units of a non-final chunk are kept, as Google's servers do; a chunk that does not
  start at the next byte held gets 308 with the current Range. Bodies are read in 1 MiB blocks and only
  size + sha256 are kept. Session PUTs need no token (the upload id is the credential, as at Google).
- `POST /upload/youtube/v3/thumbnails/set` and `/upload/youtube/v3/captions` (simple or multipart media),
  `POST /youtube/v3/playlistItems`, `GET /youtube/v3/channels|videos|playlists` (mine=true / id=...;
  videos.list part=statistics gives each video's `statistics`).
- The Analytics API v2 on the same root (`build("youtubeAnalytics", "v2")` with rootUrl = fake.url):
  `GET /v2/reports` answered from `analytics[video_id]` (tests.helpers.fake_youtube_analytics: data per
  day, retention curve, traffic sources; `set_analytics`), only for the token's channel's videos; a channel
  in `analytics_forbidden` gets Google's 403 forbidden. Its own quota: `quota_exhausted` does not touch it.
  `add_video(channel_id, ...)` puts a finished video on a channel without uploading it.
API calls need `Authorization: Bearer <token from /token>` and one of the method's scopes (read from the
bundled description); errors come in Google's shape `{"error": {"code", "message", "errors": [{"message",
"domain", "reason"}], "status"}}`. Faults: `fail_next(kind, status, reason)`, `drop_next_chunk(n)` (keep n
bytes rounded down to 256 KiB, then reset the connection unanswered), `quota_exhausted`, `upload_limit`,
`expire_sessions()`, `expire_tokens()`, `revoke(refresh_token)`; `on_chunk(held)` runs after each chunk is
stored, before the answer. Every request is recorded in `requests`."""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.helpers.fake_youtube_analytics import ReportError, VideoAnalytics, report

UNIT = 256 * 1024  # Google keeps uploads in whole units of this size (but all of a final chunk)
BLOCK = 1 << 20  # request bodies are read this much at a time
SCOPE = "https://www.googleapis.com/auth/"
DEFAULT_SCOPES = tuple(SCOPE + s for s in ("youtube.upload", "youtube.force-ssl", "yt-analytics.readonly"))
KINDS = ("insert", "chunk", "status", "thumbnail", "captions", "playlist", "channels", "videos.list")
KINDS += ("playlists.list", "token", "reports")  # what fail_next() takes; "status" is the `bytes */N` query
UP, API = "/upload/youtube/v3/", "/youtube/v3/"
ROUTES = {  # (method, path) -> (handler, fault kind, API method whose token and scopes it needs)
    ("GET", "/auth"): ("_consent", None, None),
    ("POST", "/token"): ("_token", "token", None),
    ("POST", UP + "videos"): ("_insert", "insert", "videos.insert"),
    ("PUT", UP + "videos"): ("_chunk", None, None),
    ("POST", UP + "thumbnails/set"): ("_thumbnail", "thumbnail", "thumbnails.set"),
    ("POST", UP + "captions"): ("_captions", "captions", "captions.insert"),
    ("POST", API + "playlistItems"): ("_playlist_item", "playlist", "playlistItems.insert"),
    ("GET", API + "channels"): ("_channels", "channels", "channels.list"),
    ("GET", API + "videos"): ("_videos_list", "videos.list", "videos.list"),
    ("GET", API + "playlists"): ("_playlists_list", "playlists.list", "playlists.list"),
    ("GET", "/v2/reports"): ("_reports", "reports", "reports.query"),  # the Analytics API v2
}
QUOTA = "The request cannot be completed because you have exceeded your "
QUOTA += '<a href="/youtube/v3/getting-started#quota">quota</a>.'
REASONS = {  # reason -> (domain, message), as YouTube answers them
    "quotaExceeded": ("youtube.quota", QUOTA),  # 403
    "uploadLimitExceeded": ("youtube.video", "The user has exceeded the number of videos they may upload."),
    "rateLimitExceeded": ("usageLimits", "Rate Limit Exceeded"),  # 403
    "invalidTitle": ("youtube.video", "The request metadata specifies an invalid or empty video title."),
    "invalidDescription": ("youtube.video", "The request metadata specifies an invalid video description."),
    "invalidTags": ("youtube.video", "The request metadata specifies invalid video keywords."),
    "invalidPublishAt": ("youtube.video", "The request metadata specifies an invalid scheduled time."),
    "forbidden": ("youtube.video", "The request is not properly authorized."),  # 403
    "videoNotFound": ("youtube.video", "The video that you are trying to use cannot be found."),
    "playlistNotFound": ("youtube.playlistItem", "The playlist in the request's playlistId cannot be found."),
    "playlistItemsNotAccessible": ("youtube.playlistItem", "The request cannot insert into this playlist."),
    "mediaBodyRequired": ("youtube.common", "The request does not include the media content."),
    "insufficientPermissions": ("global", "Request had insufficient authentication scopes."),  # 403
    "required": ("global", "Login Required."),  # 401
    "authError": ("global", "Invalid Credentials"),  # 401
}
DEFAULT_REASON = {400: "badRequest", 401: "authError", 403: "forbidden", 404: "notFound"}
DEFAULT_REASON[429] = "rateLimitExceeded"
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
STATUS |= {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
THUMBNAILS = {"default": (120, 90), "medium": (320, 180), "high": (480, 360)}
STATISTICS = ("viewCount", "likeCount", "commentCount")
REALM = 'Bearer realm="https://accounts.google.com/"'


@functools.cache
def method_scopes() -> dict[str, frozenset[str]]:
    """The scopes each method accepts ("videos.insert": ..., "reports.query": ...), from the descriptions
    bundled with the client (YouTube Data v3 and Analytics v2)."""
    from googleapiclient import discovery_cache

    scopes = {}
    for api, version in (("youtube", "v3"), ("youtubeAnalytics", "v2")):
        doc = json.loads(discovery_cache.get_static_doc(api, version))
        for resource, methods in doc["resources"].items():
            for method, desc in methods.get("methods", {}).items():
                scopes[f"{resource}.{method}"] = frozenset(desc.get("scopes", ()))
    return scopes


class ApiError(Exception):
    """An error answer: Google's API error body for `reason` (default: the status's), unless `body`."""

    def __init__(self, status: int, reason=None, message=None, *, domain=None, body=None, headers=None):
        reason = reason or DEFAULT_REASON.get(status, "backendError")
        dflt_domain, dflt_message = REASONS.get(reason, ("global", reason[0].upper() + reason[1:]))
        err = {"message": message or dflt_message, "domain": domain or dflt_domain, "reason": reason}
        error = {"code": status, "message": err["message"], "errors": [err]}
        error["status"] = STATUS.get(status, "UNKNOWN")
        self.status, self.body, self.headers = status, body or {"error": error}, headers or {}


def oauth_error(status: int, error: str, description: str) -> ApiError:
    return ApiError(status, body={"error": error, "error_description": description})


class _Dropped(Exception):
    """Reset the connection and answer nothing."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    time: float  # time.monotonic() when it arrived
    json: object = None  # the body, when it was JSON
    form: dict[str, str] | None = None  # the body, when it was a form (/token)
    status: int = 0  # answered; 0: none (the connection was dropped)


@dataclass
class FakeMedia:
    size: int
    sha256: str
    content_type: str


@dataclass
class FakeCaption:
    id: str
    language: str
    name: str
    is_draft: bool
    text: str


@dataclass
class FakeVideo:
    id: str
    channel_id: str
    snippet: dict
    status: dict
    notify_subscribers: bool
    size: int = 0
    sha256: str = ""
    complete: bool = False  # False: its upload session is not finished (videos.list does not show it)
    thumbnail: FakeMedia | None = None
    captions: list[FakeCaption] = field(default_factory=list)
    statistics: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATISTICS, 0))


@dataclass
class _Session:
    video: FakeVideo
    parts: set[str]  # of the resource to answer
    total: int | None
    held: int = 0
    expired: bool = False
    hasher: object = field(default_factory=hashlib.sha256)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Grant:
    channel_id: str
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class Reply:
    status: int
    body: dict | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client killed mid-request (the tests do that on purpose) is not an error of the fake."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeYouTube:
    """YouTube Data API v3 + Google OAuth on 127.0.0.1, serving from creation until close()."""

    def __init__(self) -> None:
        self.channels: dict[str, str] = {}  # id -> title
        self.playlists: dict[str, tuple[str, str]] = {}  # id -> (channel id, title)
        self.videos: dict[str, FakeVideo] = {}
        self.playlist_items: list[dict] = []  # the resources inserted
        self.analytics: dict[str, VideoAnalytics] = {}  # video id -> what the Analytics API knows of it
        self.analytics_forbidden: set[str] = set()  # channel ids whose reports answer 403 forbidden
        self.requests: list[Request] = []
        self.clients: dict[str, str] = {}  # client id -> secret that /token takes; empty: any
        self.bytes_received = 0  # chunk bytes, including re-sent and discarded ones
        self.sessions_started = 0
        self.consent_channel: str | None = None  # the channel picked on the consent screen; None: the first
        self.quota_exhausted = False
        self.upload_limit: int | None = None  # upload sessions per channel before uploadLimitExceeded
        self.on_chunk: Callable[[int], None] | None = None  # (bytes held) on each chunk, before the answer
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._refresh: dict[str, _Grant] = {}
        self._access: dict[str, _Grant] = {}
        self._codes: dict[str, dict] = {}
        self._sessions: dict[str, _Session] = {}
        self._faults: dict[str, deque[tuple[int, str | None, str | None]]] = {k: deque() for k in KINDS}
        self._drops: deque[int] = deque()
        self._uploads: dict[str, int] = {}  # channel id -> upload sessions started
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Google

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                fake._serve(self)

            do_POST = do_PUT = do_GET

            def log_message(self, *args) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        serve = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        serve.daemon = True
        serve.start()

    # -- life cycle and set-up ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeYouTube:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def client_config(self, client_id: str = "cid", client_secret: str = "csecret") -> dict:
        """An installed-app client config (for InstalledAppFlow); from then on /token checks clients."""
        self.clients[client_id] = client_secret
        urls = {"auth_uri": self.url + "auth", "token_uri": self.url + "token"}
        installed = {"client_id": client_id, "client_secret": client_secret, **urls}
        return {"installed": installed | {"redirect_uris": ["http://localhost"]}}

    def add_channel(self, channel_id: str, title: str, refresh_token: str | None = None) -> str:
        """Register a channel and a refresh token for it (`refresh_token` or a new one); returns the token."""
        with self._lock:
            self.channels[channel_id] = title
        return self.grant(channel_id, refresh_token)

    def grant(self, channel_id: str, refresh_token: str | None = None, scopes=DEFAULT_SCOPES) -> str:
        """Another refresh token for a channel, with these scopes."""
        token = refresh_token or self._new_id("1//fake-refresh-")
        with self._lock:
            self._refresh[token] = _Grant(channel_id, tuple(scopes))
        return token

    def add_video(
        self, channel_id: str, title: str = "A video", published_at: str | None = None, **statistics: int
    ) -> str:
        """A finished video on the channel, as if uploaded (`published_at` RFC 3339, default now), with
        these statistics (viewCount=..., likeCount=..., commentCount=...); returns its id."""
        video = self._new_video(channel_id, {"snippet": {"title": title}}, False)
        video.complete, video.snippet["publishedAt"] = True, published_at or _now()
        video.statistics |= statistics
        with self._lock:
            self.videos[video.id] = video
        return video.id

    def set_analytics(self, video_id: str, daily=None, retention=None, traffic=None) -> VideoAnalytics:
        """What the Analytics API answers for a video: `daily` {date: {metric: value}}, `retention`
        [(ratio, audienceWatchRatio, relativeRetentionPerformance)], `traffic` {source: views}; each given
        replaces what was set before."""
        with self._lock:
            data = self.analytics.setdefault(video_id, VideoAnalytics())
            data.daily = dict(daily) if daily is not None else data.daily
            data.retention = list(retention) if retention is not None else data.retention
            data.traffic = dict(traffic) if traffic is not None else data.traffic
        return data

    def add_playlist(self, channel_id: str, title: str) -> str:
        playlist_id = self._new_id("PLfake")
        with self._lock:
            self.playlists[playlist_id] = (channel_id, title)
        return playlist_id

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token and the access tokens it gave, as revoking at Google does."""
        with self._lock:
            if grant := self._refresh.pop(refresh_token, None):
                grant.revoked = True

    def expire_tokens(self) -> None:
        """Every access token given so far answers 401 (google-auth then refreshes and retries)."""
        with self._lock:
            self._access.clear()

    def expire_sessions(self) -> None:
        """Every upload session started so far answers 404."""
        with self._lock:
            for s in self._sessions.values():
                s.expired = True

    def fail_next(self, kind: str, status: int, reason: str | None = None, message: str | None = None):
        """The next request of `kind` (one of KINDS) answers this error, once."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
        with self._lock:
            self._faults[kind].append((status, reason, message))

    def drop_next_chunk(self, after_bytes: int) -> None:
        """The next chunk PUT keeps its first `after_bytes` (in whole 256 KiB units), then the connection is
        reset without an answer."""
        with self._lock:
            self._drops.append(after_bytes)

    # -- serving --------------------------------------------------------------------------------------
    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in h.headers.items()}
        rec = Request(h.command, url.path, query, headers, time.monotonic())
        with self._lock:
            self.requests.append(rec)
        name, kind, method = ROUTES.get((h.command, url.path), (None, None, None))
        body = b"" if name == "_chunk" else h.rfile.read(int(headers.get("content-length") or 0))
        try:
            if name is None:
                raise ApiError(404, "notFound", f"Not Found: {h.command} {url.path}")
            rec.json, rec.form = _parse_body(headers.get("content-type", ""), body)
            self._raise_fault(kind)
            grant = self._api(rec, method) if method else None
            reply = getattr(self, name)(h, rec, body, grant)
        except ApiError as e:
            reply = Reply(e.status, e.body, e.headers)
        except _Dropped:
            return _reset(h)
        rec.status = reply.status
        _send(h, reply)

    def _raise_fault(self, kind: str | None) -> None:
        with self._lock:
            queue = self._faults.get(kind)
            status, reason, message = queue.popleft() if queue else (0, None, None)
        if status and kind == "token":
            error = reason or ("invalid_grant" if status == 400 else "internal_failure")
            raise oauth_error(status, error, message or "Bad Request")
        if status:
            raise ApiError(status, reason, message)

    def _api(self, rec: Request, method: str) -> _Grant:
        """The bearer token, its scopes, then the quota."""
        auth = rec.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        with self._lock:
            grant = self._access.get(token)
        if not token:
            raise ApiError(401, "required", headers={"WWW-Authenticate": REALM})
        if grant is None or grant.revoked:
            raise ApiError(401, "authError", headers={"WWW-Authenticate": REALM + ', error="invalid_token"'})
        if not method_scopes()[method] & set(grant.scopes):
            raise ApiError(403, "insufficientPermissions")
        if self.quota_exhausted and method != "reports.query":  # the Analytics API has its own quota
            raise ApiError(403, "quotaExceeded")
        return grant

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._ids):04d}"

    # -- OAuth ----------------------------------------------------------------------------------------
    def _consent(self, h, rec: Request, body: bytes, grant: None) -> Reply:
        """The consent screen, where the user picks `consent_channel` and allows every scope asked."""
        q, channel = rec.query, self.consent_channel or next(iter(self.channels), None)
        if not q.get("redirect_uri") or q.get("response_type") != "code" or channel is None:
            return Reply(400, b"Error 400: invalid_request", {"Content-Type": "text/html"})
        code = self._new_id("4/fake-code-")
        with self._lock:
            self._codes[code] = {"channel": channel, **q}
        answer = {"code": code, "scope": q.get("scope", "")} | ({"state": q["state"]} if "state" in q else {})
        sep = "&" if "?" in q["redirect_uri"] else "?"
        return Reply(302, b"", {"Location": q["redirect_uri"] + sep + urlencode(answer)})

    def _token(self, h, rec: Request, body: bytes, grant: None) -> Reply:
        form = rec.form or {}
        self._check_client(form, rec.headers.get("authorization", ""))
        if form.get("grant_type") == "authorization_code":
            grant, refresh = self._exchange(form)
        elif form.get("grant_type") == "refresh_token":
            grant, refresh = self._refreshed(form), None
        else:
            raise oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type')}")
        access = self._new_id("ya29.fake-access-")
        with self._lock:
            self._access[access] = grant
        answer = {"access_token": access, "expires_in": 3600, "scope": " ".join(grant.scopes)}
        answer |= {"token_type": "Bearer"} | ({"refresh_token": refresh} if refresh else {})
        return Reply(200, answer, {"Cache-Control": "no-store"})

    def _check_client(self, form: dict, authorization: str) -> None:
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
        if authorization.startswith("Basic "):  # requests-oauthlib sends the client this way
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if self.clients and self.clients.get(client_id) != secret:
            raise oauth_error(401, "invalid_client", "Unauthorized")

    def _exchange(self, form: dict) -> tuple[_Grant, str | None]:
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)
        if code is None:
            raise oauth_error(400, "invalid_grant", "Malformed auth code.")
        if form.get("redirect_uri") != code["redirect_uri"]:
            raise oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        if not _pkce_ok(code, form.get("code_verifier", "")):
            raise oauth_error(400, "invalid_grant", "Invalid code verifier.")
        grant = _Grant(code["channel"], tuple(code.get("scope", "").split()))
        if code.get("access_type") != "offline":  # no refresh token then, as at Google
            return grant, None
        refresh = self._new_id("1//fake-refresh-")
        with self._lock:
            self._refresh[refresh] = grant
        return grant, refresh

    def _refreshed(self, form: dict) -> _Grant:
        with self._lock:
            grant = self._refresh.get(form.get("refresh_token", ""))
        if grant is None or grant.revoked:
            raise oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        if not set(form.get("scope", "").split()) <= set(grant.scopes):
            raise oauth_error(400, "invalid_scope", "Bad Request")
        return grant

    # -- resumable video upload -----------------------------------------------------------------------
    def _insert(self, h, rec: Request, body: bytes, grant: _Grant) -> Reply:
        if rec.query.get("uploadType") != "resumable":
            raise ApiError(400, "badRequest", "This fake takes videos only as uploadType=resumable.")
        meta = rec.json if isinstance(rec.json, dict) else {}
        check_video(meta)
        with self._lock:
            started = self._uploads.get(grant.channel_id, 0)
            if self.upload_limit is not None and started >= self.upload_limit:
                raise ApiError(400, "uploadLimitExceeded")
            self._uploads[grant.channel_id] = started + 1
            self.sessions_started += 1
        video = self._new_video(grant.channel_id, meta, rec.query.get("notifySubscribers", "true") == "true")
        upload_id, total = self._new_id("fake-upload-"), rec.headers.get("x-upload-content-length")
        with self._lock:
            self.videos[video.id] = video
            parts = set(rec.query.get("part", "").split(","))
            self._sessions[upload_id] = _Session(video, parts, int(total) if total else None)
        query = urlencode({k: v for k, v in rec.query.items() if k != "alt"} | {"upload_id": upload_id})
        return Reply(200, b"", {"Location": f"{self.url}upload/youtube/v3/videos?{query}"})

    def _new_video(self, channel_id: str, meta: dict, notify: bool) -> FakeVideo:
        snippet = {"description": "", "categoryId": "22", **(meta.get("snippet") or {})}
        localized = {"title": snippet["title"], "description": snippet["description"]}
        snippet |= {"channelId": channel_id, "channelTitle": self.channels.get(channel_id, "")}
        snippet |= {"liveBroadcastContent": "none", "localized": localized}
        status = {"privacyStatus": "public", "license": "youtube", "embeddable": True}
        status |= {"publicStatsViewable": True, **(meta.get("status") or {}), "uploadStatus": "uploaded"}
        if "selfDeclaredMadeForKids" in status:
            status["madeForKids"] = status["selfDeclaredMadeForKids"]
        return FakeVideo(self._new_id("fakeVid"), channel_id, snippet, status, notify)

    def _chunk(self, h, rec: Request, body: bytes, grant: None) -> Reply:
        length = int(rec.headers.get("content-length") or 0)
        with self._lock:
            session = self._sessions.get(rec.query.get("upload_id", ""))
        try:
            start, total = parse_range(rec.headers.get("content-range"), length)
            if session is None or session.expired:
                raise ApiError(404, "notFound", "Upload session not found or expired.")
        except ApiError:
            self._drain(h, length)  # the body must be read, or it would be taken for the next request
            raise
        with session.lock:
            reply = self._store(h, session, start, length, total)
        if self.on_chunk and start is not None:
            self.on_chunk(session.held)
        return reply

    def _store(self, h, session: _Session, start: int | None, length: int, total: int | None) -> Reply:
        if start is None:  # a status query
            self._drain(h, length)
            self._raise_fault("status")
            return self._progress(session)
        try:
            self._raise_fault("chunk")
        except ApiError:
            self._drain(h, length)
            raise
        if session.video.complete or start != session.held:
            self._drain(h, length)
            return self._progress(session)
        with self._lock:
            drop = self._drops.popleft() if self._drops else None
        session.total = total if total is not None else session.total
        got = self._receive(h, session, length, length if drop is None else min(length, drop))
        if session.held == session.total:
            video = session.video
            video.size, video.sha256, video.complete = session.held, session.hasher.hexdigest(), True
            video.snippet["publishedAt"] = _now()
        if got < length or drop is not None:
            raise _Dropped
        return self._progress(session)

    def _receive(self, h, session: _Session, length: int, want: int) -> int:
        """Read up to `want` bytes of a chunk of `length`; keep whole 256 KiB units (a last chunk: all)."""
        final = session.held + length == session.total
        got = 0
        while got < want:
            try:
                block = h.rfile.read(min(BLOCK, want - got))  # only the last block can be short
            except OSError:
                block = b""
            if not block:
                break
            got += len(block)
            keep = len(block) if final and got == length else len(block) - len(block) % UNIT
            session.hasher.update(memoryview(block)[:keep])
            session.held += keep
            with self._lock:  # counted as it arrives, so a test can act mid-chunk
                self.bytes_received += len(block)
        return got

    def _drain(self, h, length: int) -> None:
        left = length
        while left > 0 and (block := h.rfile.read(min(BLOCK, left))):
            left -= len(block)
        with self._lock:
            self.bytes_received += length - left

    def _progress(self, session: _Session) -> Reply:
        if session.video.complete:
            return Reply(200, video_resource(session.video, session.parts))
        return Reply(308, b"", {"Range": f"bytes=0-{session.held - 1}"} if session.held else {})

    # -- media and JSON endpoints ---------------------------------------------------------------------
    def _own_video(self, grant: _Grant, video_id: str | None, domain: str) -> FakeVideo:
        with self._lock:
            video = self.videos.get(video_id or "")
        if video is None or not video.complete:
            raise ApiError(404, "videoNotFound", domain=domain)
        if video.channel_id != grant.channel_id:
            raise ApiError(403, "forbidden", domain=domain)
        return video

    def _thumbnail(self, h, rec: Request, body: bytes, grant: _Grant) -> Reply:
        video = self._own_video(grant, rec.query.get("videoId"), "youtube.thumbnail")
        _, data, content_type = media_parts(rec, body)
        video.thumbnail = FakeMedia(len(data), hashlib.sha256(data).hexdigest(), content_type)
        url = f"https://i.ytimg.com/vi/{video.id}/"
        item = {k: {"url": f"{url}{k}.jpg", "width": w, "height": ht} for k, (w, ht) in THUMBNAILS.items()}
        return Reply(200, {"kind": "youtube#thumbnailSetResponse", "etag": "fake-etag", "items": [item]})

    def _captions(self, h, rec: Request, body: bytes, grant: _Grant) -> Reply:
        meta, data, _ = media_parts(rec, body)
        snippet = (meta or {}).get("snippet") or {}
        video = self._own_video(grant, snippet.get("videoId"), "youtube.caption")
        if not snippet.get("language"):
            raise ApiError(400, "invalidMetadata", "snippet.language is required.", domain="youtube.caption")
        language, name, draft = snippet["language"], snippet.get("name", ""), bool(snippet.get("isDraft"))
        caption = FakeCaption(self._new_id("fakeCap"), language, name, draft, data.decode(errors="replace"))
        video.captions.append(caption)
        snippet |= {"trackKind": "standard", "isDraft": caption.is_draft, "status": "serving"}
        resource = {"kind": "youtube#caption", "etag": "fake-etag", "id": caption.id}
        return Reply(200, resource | {"snippet": snippet | {"lastUpdated": _now()}})

    def _playlist_item(self, h, rec: Request, body: bytes, grant: _Grant) -> Reply:
        snippet = (rec.json or {}).get("snippet") or {}
        owner = self.playlists.get(snippet.get("playlistId", ""))
        if owner is None:
            raise ApiError(404, "playlistNotFound")
        if owner[0] != grant.channel_id:
            raise ApiError(403, "playlistItemsNotAccessible")
        video = self.videos.get((snippet.get("resourceId") or {}).get("videoId", ""))
        if video is None or not video.complete:
            raise ApiError(404, "videoNotFound", domain="youtube.playlistItem")
        with self._lock:
            position = sum(i["snippet"]["playlistId"] == snippet["playlistId"] for i in self.playlist_items)
            snippet |= {"position": position, "channelId": grant.channel_id, "title": video.snippet["title"]}
            item = {"kind": "youtube#playlistItem", "etag": "fake-etag", "id": f"fakePli{next(self._ids)}"}
            self.playlist_items.append(item | {"snippet": snippet | {"publishedAt": _now()}})
        return Reply(200, self.playlist_items[-1])

    def _channels(self, h, rec: Request, body: bytes, grant: _Grant) -> Reply:
        if rec.query.get("mine") != "true":
            raise ApiError(400, "badRequest", "This fake answers channels.list only with mine=true.")
        channel = {"kind": "youtube#channel", "id": grant.channel_id}
        if "snippet" in rec.query.get("part", "").split(","):
            channel["snippet"] = {"title": self.channels.get(grant.channel_id, ""), "description": ""}
        return Reply(200, list_response("youtube#channelListResponse", [channel]))

    def _videos_list(self, h, rec: Request, body: bytes, grant: _Grant) -> Reply:
        parts = set(rec.query.get("part", "").split(","))
        with self._lock:
            found = [self.videos.get(i) for i in rec.query.get("id", "").split(",")]
        mine = [v for v in found if v and v.complete and v.channel_id == grant.channel_id]
        items = [video_resource(v, parts) for v in mine]
        return Reply(200, list_response("youtube#videoListResponse", items))

    def _reports(self, h, rec: Request, body: bytes, grant: _Grant) -> Reply:
        """reports.query of the Analytics API, for the token's channel (ids=channel==MINE or its id)."""
        if rec.query.get("ids") not in ("channel==MINE", f"channel=={grant.channel_id}"):
            raise ApiError(403, "forbidden", "Forbidden", domain="global")
        if grant.channel_id in self.analytics_forbidden:
            raise ApiError(403, "forbidden", "Forbidden", domain="global")
        with self._lock:
            own = {v.id for v in self.videos.values() if v.channel_id == grant.channel_id and v.complete}
            data = dict(self.analytics)
        try:
            return Reply(200, report(rec.query, data, own))
        except ReportError as e:
            raise ApiError(e.status, e.reason, e.message, domain="global") from None

    def _playlists_list(self, h, rec: Request, body: bytes, grant: _Grant) -> Reply:
        mine = [(pid, t) for pid, (ch, t) in self.playlists.items() if ch == grant.channel_id]
        items = [{"kind": "youtube#playlist", "id": pid, "snippet": {"title": t}} for pid, t in mine]
        return Reply(200, list_response("youtube#playlistListResponse", items))


# -- protocol helpers ---------------------------------------------------------------------------------
def check_video(meta: dict) -> None:
    """YouTube's metadata checks on videos.insert (an ApiError for the first that fails)."""
    snippet, status = meta.get("snippet") or {}, meta.get("status") or {}
    title, description, tags = snippet.get("title"), snippet.get("description", ""), snippet.get("tags") or []
    if not isinstance(title, str) or not title.strip() or len(title) > 100 or _angled(title):
        raise ApiError(400, "invalidTitle")
    if not isinstance(description, str) or len(description.encode()) > 5000 or _angled(description):
        raise ApiError(400, "invalidDescription")
    if tags_length(tags) > 500 or any(_angled(t) for t in tags):
        raise ApiError(400, "invalidTags")
    if "publishAt" in status and not _valid_publish_at(status):
        raise ApiError(400, "invalidPublishAt")


def tags_length(tags: list[str]) -> int:
    """Tags counted YouTube's way: the commas between them count, and a tag with a space gets 2 quotes."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(len(tags) - 1, 0)


def _valid_publish_at(status: dict) -> bool:
    """Private, and an RFC 3339 time with a zone, in the future."""
    try:
        when = datetime.fromisoformat(status["publishAt"])
    except (TypeError, ValueError):
        return False
    return status.get("privacyStatus") == "private" and when.tzinfo is not None and when > datetime.now(UTC)


def _pkce_ok(code: dict, verifier: str) -> bool:
    """Whether a code_verifier matches the code_challenge that /auth was sent (if it was)."""
    if "code_challenge" not in code:
        return True
    challenge = verifier
    if code.get("code_challenge_method") == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return bool(verifier) and challenge == code["code_challenge"]


def _angled(text: str) -> bool:
    return "<" in text or ">" in text


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_body(content_type: str, body: bytes) -> tuple[object, dict[str, str] | None]:
    """(JSON, form) of a request body, either or both None."""
    try:
        data = json.loads(body) if body and content_type.startswith("application/json") else None
    except ValueError:
        raise ApiError(400, "parseError", "Parse Error") from None
    form = content_type.startswith("application/x-www-form-urlencoded")
    return data, dict(parse_qsl(body.decode())) if form else None


def parse_range(header: str | None, length: int) -> tuple[int | None, int | None]:
    """(start, total) of `bytes A-B/N` (total None for `*`); (None, N) for a status query, `bytes */N`."""
    if not header:
        return 0, length  # the whole upload in one body
    try:
        spec, _, total = header.removeprefix("bytes ").partition("/")
        start = None if spec == "*" else int(spec.split("-")[0])
        if start is not None and int(spec.split("-")[1]) - start + 1 != length:
            raise ValueError
        return start, None if total == "*" else int(total)
    except ValueError:
        raise ApiError(400, "badRequest", f"Invalid Content-Range: {header}") from None


def media_parts(rec: Request, body: bytes) -> tuple[dict | None, bytes, str]:
    """(metadata, media, media content type) of a simple (uploadType=media) or multipart/related upload."""
    content_type = rec.headers.get("content-type", "")
    found = [({"content-type": content_type}, body)]
    if rec.query.get("uploadType") == "multipart":
        found = []
        for part in body.split(b"--" + content_type.partition("boundary=")[2].strip('"').encode())[1:-1]:
            nl = b"\r\n" if part.startswith(b"\r\n") else b"\n"  # the client sends LF; RFC 2046 says CRLF
            head, _, payload = part.removeprefix(nl).partition(nl + nl)
            lines = (line.partition(":")[::2] for line in head.decode().splitlines())
            found.append(({k.lower(): v.strip() for k, v in lines}, payload.removesuffix(nl)))
    if not found[-1][1] or len(found) > 2:
        raise ApiError(400, "mediaBodyRequired")
    meta = json.loads(found[0][1]) if len(found) == 2 else None
    return meta, found[-1][1], found[-1][0].get("content-type", "")


def video_resource(video: FakeVideo, parts: set[str]) -> dict:
    res = {"kind": "youtube#video", "etag": f"fake-etag-{video.id}", "id": video.id}
    stats = {k: str(n) for k, n in video.statistics.items()}  # strings, as the API gives them
    for part, value in (("snippet", video.snippet), ("status", video.status), ("statistics", stats)):
        if part in parts:
            res[part] = value
    return res


def list_response(kind: str, items: list[dict]) -> dict:
    page = {"totalResults": len(items), "resultsPerPage": len(items)}
    return {"kind": kind, "etag": "fake-etag", "pageInfo": page, "items": items}


def _send(h: BaseHTTPRequestHandler, reply: Reply) -> None:
    data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
    try:
        h.send_response(reply.status, "Resume Incomplete" if reply.status == 308 else None)
        if isinstance(reply.body, dict):
            h.send_header("Content-Type", "application/json; charset=UTF-8")
        h.send_header("Content-Length", str(len(data)))
        for k, v in reply.headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        h.close_connection = True


def _reset(h: BaseHTTPRequestHandler) -> None:
    """Close the connection with a TCP reset and no answer. Not a FIN: httplib2 takes a clean close for a
    stale keep-alive connection and resends the request, whose body stream is then spent."""
    h.close_connection = True
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.rfile.close()  # its reference would keep the socket open past close()
    h.connection.close()


def store_connections(
    airflow,
    fake: FakeYouTube,
    *,
    project: str,
    channel: str,
    channel_id: str,
    channel_title: str,
    refresh_token: str,
    client_secret: str = "csecret",
) -> list[str]:
    """Store a project's OAuth client (pointed at `fake`) and a channel's refresh token as Airflow
    connections through the REST API of `airflow` (an AirflowClient), as `nicheflow youtube connect`
    leaves them. Airflow's database outlives a test module, so a connection an earlier one left is replaced.
    Returns the connection ids."""
    import json

    client = fake.client_config(client_secret=client_secret)["installed"]
    bodies = [
        {
            "connection_id": f"youtube_project_{project}",
            "conn_type": "youtube",
            "login": client["client_id"],
            "password": client["client_secret"],
            "extra": json.dumps({"token_uri": client["token_uri"], "api_root": fake.url}),
        },
        {
            "connection_id": f"youtube_{channel}",
            "conn_type": "youtube",
            "password": refresh_token,
            "extra": json.dumps({"channel_id": channel_id, "channel_title": channel_title}),
        },
    ]
    for body in bodies:
        airflow.http.delete(f"/connections/{body['connection_id']}")
        airflow.http.post("/connections", json=body).raise_for_status()
    return [b["connection_id"] for b in bodies]
