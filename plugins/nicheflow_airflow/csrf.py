"""CSRF tokens for the Review UI's forms (and for any POST a browser makes with the login cookie).

A request that changes something and is authenticated by the UI's login cookie `_token` must carry the
session's token: the hidden form field `csrf_token` (every POST form of the templates has it) or the header
`X-CSRF-Token` (for scripts in the page; `<meta name="csrf-token">` holds it). The token is
HMAC-SHA256(key, the session's login JWT), the key derived from Airflow's `[api_auth] jwt_secret`, so:
- another site cannot forge it (it cannot read the page, nor compute the HMAC without the secret);
- it is per session: another login (another JWT) has another token, and it dies with the login;
- every api-server worker and machine computes the same token (they share the JWT secret).

A request with `Authorization: Bearer ...` (the REST API's tools) is not checked: a browser never adds that
header across sites, so such a request cannot be forged by another page.

If the auth manager refreshes the login JWT (SimpleAuthManager does not; Keycloak's may), a form opened
before the refresh is refused with "reload the page", never applied with a stale token.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets

log = logging.getLogger(__name__)

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED = (
    "refused: this form's security token is missing or out of date, so it may not come from the Review "
    "page (the token protects against cross-site requests). Reload the page and submit again."
)
REFUSED_API = (
    "refused: a request signed in with the login cookie must carry the X-CSRF-Token header (the "
    "`csrf-token` meta tag of a Review page); tools should send `Authorization: Bearer <token>` instead."
)


@functools.cache
def _key() -> bytes:
    from airflow.configuration import conf

    secret = conf.get("api_auth", "jwt_secret", fallback="") or ""
    if not secret:  # Airflow then signs logins with a per-process key too: tokens live as long as it
        log.warning("[api_auth] jwt_secret is not set: CSRF tokens hold only until the api-server restarts")
        secret = secrets.token_hex(32)
    return hashlib.sha256(b"nicheflow-review-csrf\x00" + secret.encode()).digest()


def token_for(session: str) -> str:
    """The CSRF token of the login session whose JWT is `session`."""
    return hmac.new(_key(), session.encode(), hashlib.sha256).hexdigest()


def valid(session: str | None, sent: object) -> bool:
    """Whether `sent` is the token of `session` (constant-time comparison)."""
    return bool(session) and isinstance(sent, str) and hmac.compare_digest(token_for(session or ""), sent)
