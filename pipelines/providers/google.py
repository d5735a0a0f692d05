"""Google sign-in and API calls shared by the providers that talk to Google's YouTube APIs (the publisher, the
Data API v3, and the analytics provider, the Analytics API v2), one OAuth token per channel (facts:
../shared/notes/youtube.md).

Credentials are Airflow connections, read from their environment form (AIRFLOW_CONN_<ID>, JSON), which the
task sets from Airflow's store: `youtube_project_<project>` holds the OAuth client (login = client id,
password = client secret, extra: token_uri, auth_uri, and api_root for a YouTube-compatible endpoint) and
`youtube_<channel>` the channel's token (password = refresh token, extra: channel_id, channel_title).

`GoogleAPI.call` executes one request of the real google-api-python-client: it records the call in the
quota ledger (failed ones too: YouTube charges those), retries what is transient (a dropped connection,
5xx, rateLimitExceeded) a few times with backoff, and maps the rest to the project's error kinds:
`TokenRevoked` (invalid_grant) is permanent, `QuotaExhausted` is neither (wait for the reset), anything
else refused is `ProviderRejected`. Each request is timed (pipelines.latency)."""

from __future__ import annotations

import http.client
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pipelines import latency
from pipelines.providers.http import ProviderError, ProviderRejected, ProviderUnavailable

log = logging.getLogger(__name__)

NAME = "YouTube"
SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.force-ssl",
    "https://www.googleapis.com/auth/yt-analytics.readonly",
)
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
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


class CallLedger(Protocol):
    """Counts API calls against the quota of the project the credentials belong to."""

    def record(self, method: str, ok: bool, reason: str = "", *, production_id: int | None = None) -> None:
        """One call of `method`, successful or not; `production_id`: the production it was made for."""
        ...


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
    """A google-api-python-client service for `api` (youtube v3, youtubeAnalytics v2), from the description
    bundled with the library (no network at build time), authorised by the channel's token, on Google's
    endpoint or `client.api_root`."""
    from google_auth_httplib2 import AuthorizedHttp
    from googleapiclient.discovery import build_from_document
    from googleapiclient.discovery_cache import get_static_doc
    from googleapiclient.http import build_http

    doc = json.loads(get_static_doc(api, version) or "{}")
    if not doc:
        raise ValueError(f"google-api-python-client bundles no description of {api} {version}")
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


def transport_errors() -> tuple[type[BaseException], ...]:
    """What a request that got no answer raises (connection refused or reset, a timeout)."""
    import httplib2

    return (OSError, http.client.HTTPException, httplib2.HttpLib2Error)


class GoogleAPI:
    """Calls to one of Google's APIs for one channel, each recorded in the ledger (failed ones too) and mapped
    to the project's error kinds. Transient failures are retried `attempts` times with backoff.
    `production_id`, when set, is the production the calls are made for (recorded with each)."""

    name = NAME
    stops = "Its uploads stop"  # what a revoked token stops, for the message

    def __init__(
        self,
        client: OAuthClient,
        token: ChannelToken,
        ledger: CallLedger,
        *,
        channel: str,
        attempts: int = 4,
        backoff: Callable[[int], float] = lambda n: min(30.0, 2.0**n),
        service: Any = None,
    ):
        self.client, self.token, self.ledger, self.channel = client, token, ledger, channel
        self.attempts, self.backoff = attempts, backoff
        self.production_id: int | None = None
        self._service = service

    def fail(self, method: str, e: BaseException) -> ProviderError:
        """The project's error for a failed call of `method`."""
        from google.auth.exceptions import RefreshError, TransportError

        if isinstance(e, RefreshError):
            if "invalid_grant" in str(e):
                return TokenRevoked(
                    self.name,
                    400,
                    f"Google refused channel {self.channel}'s token (invalid_grant: revoked, expired, or the "
                    f"consent screen is still in Testing, where tokens last 7 days). {self.stops} until "
                    f"you reconnect it: `nicheflow youtube connect {self.channel}`",
                )
            return ProviderRejected(self.name, None, f"refreshing channel {self.channel}'s token failed: {e}")
        if isinstance(e, (TransportError, *transport_errors())):
            return ProviderUnavailable(self.name, None, f"{method}: no answer ({type(e).__name__}: {e})")
        status, reason, message = error_reason(e)
        if reason in QUOTA_REASONS:
            return QuotaExhausted("quotaExceeded" if reason != "uploadLimitExceeded" else reason, message)
        if reason in RETRYABLE_REASONS or (status or 0) >= 500 or status == 429:
            return ProviderUnavailable(self.name, status, f"{method}: {reason or 'error'}: {message}")
        return ProviderRejected(self.name, status, f"{method}: {reason or 'refused'}: {message}")

    def record(self, method: str, ok: bool, reason: str = "") -> None:
        """One call of `method` in the ledger, for the production the calls are made for (if any)."""
        self.ledger.record(method, ok, reason, production_id=self.production_id)

    def call(self, method: str, request: Any) -> Any:
        """Execute `request` (a google-api-python-client request for `method`)."""
        for attempt in range(1, self.attempts + 1):
            try:
                with latency.timed(self.name, method):
                    result = request.execute(num_retries=0)
            except Exception as e:
                err = self.fail(method, e)
                if not isinstance(err, TokenRevoked):  # a refused refresh never reached the API
                    self.record(method, False, error_reason(e)[1] or type(e).__name__)
                if not isinstance(err, ProviderUnavailable) or attempt == self.attempts:
                    raise err from e
                log.warning("%s: %s; trying again (%d of %d)", method, err, attempt + 1, self.attempts)
                time.sleep(self.backoff(attempt))
                continue
            self.record(method, True)
            return result
        raise AssertionError("unreachable")
