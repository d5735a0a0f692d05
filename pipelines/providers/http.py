"""Shared HTTP plumbing for the online providers: one httpx client factory and one small retry loop.

What is retried: connect/read/write/pool timeouts, 408, 429 and 5xx. A 429 (or 503) waits what the
server asks for in `Retry-After` (seconds or an HTTP date), or, when that header is missing, in the
`X-RateLimit-*` headers some APIs (Brave) send instead. A server that asks for more than
`retry_after_cap` seconds is not retried at all: it is saying "not today", and hammering it a few
seconds later helps nobody. Every other wait is exponential backoff with jitter. Other 4xx are never
retried: they mean the request, the key or the base URL is wrong, and `ProviderError` says which to fix.

Failures are raised as one of ProviderError's two kinds: `ProviderRejected` (permanent: a rejected key,
a refused request, a wrong base_url; retrying cannot help) or `ProviderUnavailable` (transient: gave up
after the retries, timed out, unreachable, rate-limited beyond what this client waits).

Every attempt is timed (pipelines.latency: its duration and outcome, for the API latency metrics).

Nothing here logs request headers, so keys sent in headers never reach a log or an error message."""

from __future__ import annotations

import email.utils
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from pipelines import latency
from pipelines.errors import NicheflowError, PermanentError, TransientError

log = logging.getLogger(__name__)


def wikimedia_user_agent(purpose: str) -> str:
    """The User-Agent Wikimedia's policy asks for (Wikipedia, Commons): the tool, what it does and a contact,
    the operator's e-mail or URL from NICHEFLOW_CONTACT. Without it Wikimedia may throttle or refuse."""
    contact = os.environ.get("NICHEFLOW_CONTACT", "").strip()
    if not contact:
        log.warning(
            "NICHEFLOW_CONTACT is not set: Wikimedia asks for a contact (an e-mail or URL) in the User-Agent"
        )
    return f"nicheflow/0.1 ({purpose}; contact: {contact or 'not given'})"


class ProviderError(NicheflowError, RuntimeError):
    """An online provider failed; the message says what to do. `status` is the last HTTP status (None when
    no response came back). Raised as `ProviderRejected` or `ProviderUnavailable`; catch ProviderError for
    "this provider failed" whichever the kind."""

    def __init__(self, provider: str, status: int | None, message: str, *, retry_after: float | None = None):
        self.provider = provider
        self.status = status
        self.message = message
        self.retry_after = retry_after  # seconds the server asked to wait, when it said
        where = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{provider}{where}: {message}")


class ProviderRejected(ProviderError, PermanentError):
    """Retrying cannot help: the provider refused the key or the request, or base_url points elsewhere
    (a redirect, an answer that is not this API). Fix what the message names."""


class ProviderUnavailable(ProviderError, TransientError):
    """Worth retrying later: the provider timed out, could not be reached, answered 5xx or rate-limited
    this client, through every attempt."""


def is_transient_status(status: int | None) -> bool:
    """Whether an HTTP failure with this status may pass on its own: no response at all (timeout, network),
    408 (request timeout), 429 (rate limit) or 5xx."""
    return status is None or status in (408, 429) or status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    """How `send` retries: at most `max_attempts` attempts, exponential backoff with jitter between them,
    and a server-requested wait honoured up to `retry_after_cap` seconds."""

    max_attempts: int = 4
    backoff: float = 0.5  # first backoff wait, doubled each attempt, with jitter
    backoff_max: float = 8.0
    retry_after_cap: float = 30.0  # longest server-requested wait this client will honour

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def backoff_delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Wait before attempt `attempt + 1`: half fixed, half random ("equal jitter")."""
        d = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
        return d / 2 + (rng or random).uniform(0, d / 2)


def make_client(
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    base_url: str = "",
    follow_redirects: bool = False,
) -> httpx.Client:
    """A client whose every phase (connect, read, write, pool) times out after `timeout` seconds.

    Redirects are off by default: httpx keeps custom headers (such as an API key) on a cross-host
    redirect, so only a provider that sends no secret should turn them on."""
    return httpx.Client(
        base_url=base_url, timeout=httpx.Timeout(timeout), headers=headers, follow_redirects=follow_redirects
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date. None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _int_list(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(float(v)) for v in value.split(",")]
    except ValueError:
        return None


def rate_limit_wait(response: httpx.Response) -> float | None:
    """How long the server asks us to wait: Retry-After first; else `X-RateLimit-Reset` ("1, 1419704":
    seconds until each window resets), taking the windows whose `X-RateLimit-Remaining` is 0."""
    wait = parse_retry_after(response.headers.get("retry-after"))
    if wait is not None:
        return wait
    resets = _int_list(response.headers.get("x-ratelimit-reset"))
    if not resets:
        return None
    remaining = _int_list(response.headers.get("x-ratelimit-remaining"))
    if remaining and len(remaining) == len(resets):
        exhausted = [r for r, left in zip(resets, remaining, strict=True) if left <= 0]
        if exhausted:
            return float(max(exhausted))
    return float(min(resets))


def _describe(method: str, url: httpx.URL) -> str:
    return f"{method} {url.scheme}://{url.host}{f':{url.port}' if url.port else ''}{url.path}"


def _timed_send(client: httpx.Client, request: httpx.Request, provider: str) -> httpx.Response:
    """One attempt, timed: its outcome is `ok`, `http_<status>`, `timeout` or `unreachable`."""
    with latency.timed(provider, f"{request.method} {request.url.path[:80]}") as call:
        response = client.send(request)
        if not response.is_success:
            call.outcome = f"http_{response.status_code}"
    return response


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    provider: str,
    policy: RetryPolicy,
    params: dict | None = None,
    headers: dict[str, str] | None = None,
    reject: Callable[[httpx.Response], ProviderError | None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Send one request, retrying what is worth retrying. Returns a 2xx response or raises ProviderRejected
    (4xx other than 408/429, a redirect: fix the request, key or base_url) or ProviderUnavailable (no
    answer, or 408/429/5xx through every attempt: try again later).

    `reject(response)` may turn a non-retried 4xx (or any status it recognises, such as an invalid key)
    into a ProviderError (usually ProviderRejected) with a provider-specific fix; it is consulted before
    any retry decision."""
    what = _describe(method, client.build_request(method, url, params=params).url)
    last_status: int | None = None
    problem = ""
    for attempt in range(1, policy.max_attempts + 1):
        try:
            response = _timed_send(
                client, client.build_request(method, url, params=params, headers=headers), provider
            )
        except httpx.TimeoutException as e:
            last_status = None
            problem = f"{type(e).__name__} after {client.timeout.read}s"
            wait = policy.backoff_delay(attempt)
        except httpx.TransportError as e:
            raise ProviderUnavailable(
                provider,
                None,
                f"could not reach {what}: {e or type(e).__name__}. Check the network and "
                "the provider's base_url",
            ) from e
        else:
            status = response.status_code
            if response.is_success:
                return response
            last_status = status
            custom = reject(response) if reject else None
            if custom is not None:
                raise custom
            if is_transient_status(status):  # 408, 429, 5xx
                asked = rate_limit_wait(response) if status in (429, 503) else None
                if asked is not None and asked > policy.retry_after_cap:
                    raise ProviderUnavailable(
                        provider,
                        status,
                        f"{what} is rate-limited and asks to wait {asked:.0f} s, more than "
                        f"the {policy.retry_after_cap:.0f} s this client waits. Try again "
                        "later, or check the plan's quota",
                        retry_after=asked,
                    )
                problem = f"HTTP {status}"
                wait = asked if asked is not None else policy.backoff_delay(attempt)
            elif response.is_redirect:
                raise ProviderRejected(
                    provider,
                    status,
                    f"{what} redirected to {response.headers.get('location')!r}; set the "
                    "provider's base_url to the final address",
                )
            else:
                raise ProviderRejected(
                    provider,
                    status,
                    f"{what} was refused: {_excerpt(response)}. Not retried: the request, "
                    "the key or the base_url needs fixing",
                )
        if attempt == policy.max_attempts:
            break
        log.warning(
            "%s: %s from %s; retrying in %.2f s (attempt %d of %d)",
            provider,
            problem,
            what,
            wait,
            attempt + 1,
            policy.max_attempts,
        )
        sleep(wait)
    raise ProviderUnavailable(
        provider,
        last_status,
        f"gave up on {what} after {policy.max_attempts} attempts (last: {problem}). The "
        "service is down, slow or rate-limiting this client: try again later, or raise "
        "max_attempts/timeout",
    )


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    text = " ".join(response.text.split())
    if not text:
        return response.reason_phrase or "no body"
    return text if len(text) <= limit else text[:limit] + "…"


def json_body(response: httpx.Response, provider: str) -> dict:
    """The response's JSON object; ProviderRejected when the body is not JSON or not an object (a wrong
    base_url, most often)."""
    try:
        data = response.json()
    except ValueError as e:
        raise ProviderRejected(
            provider,
            response.status_code,
            f"expected JSON from {_describe(response.request.method, response.request.url)}, "
            f"got {response.headers.get('content-type', 'no content type')}: "
            f"{_excerpt(response, 120)}. Is base_url right?",
        ) from e
    if not isinstance(data, dict):
        raise ProviderRejected(
            provider,
            response.status_code,
            f"expected a JSON object, got {type(data).__name__}: is base_url right?",
        )
    return data
