"""One error root for the project, with two branches that say whether retrying can help.

Every error the project raises on purpose is a `NicheflowError` whose message says what to do. It is one
of two kinds:

- `PermanentError`: retrying cannot help; a person has to change something first (a config field, a
  key, the topic, a source document). The DAG fails such a task at once, without retries.
- `TransientError`: worth retrying; the same call may work in a minute (a timeout, a 5xx, a rate limit,
  a service that cannot be reached). The DAG retries it with backoff.

A module may keep its own base class (`ProviderError`, `LLMError`, `TTSUnavailable`) so callers can
catch "this provider failed" in one clause; it then raises one subclass per branch. Anything that is not
a `PermanentError` (a bug, an unbranched error) is retried: a wrong retry costs minutes, a missed one a
production. Classes that were ValueError/RuntimeError keep that base too, so old `except` clauses hold."""

from __future__ import annotations

from datetime import datetime


class NicheflowError(Exception):
    """Root of every error the project raises on purpose; the message says what to do about it."""


class PermanentError(NicheflowError):
    """Retrying cannot help: bad config, a rejected or missing key, a repeated topic, no facts on the topic,
    a request the service refuses. Fix what the message names, then run the task again."""


class TransientError(NicheflowError):
    """Worth retrying: a timeout, a 5xx, a rate limit, a service that cannot be reached right now."""


class NoFacts(PermanentError, ValueError):
    """The channel's knowledge base and its sources have nothing on the topic: add a source document
    or choose another topic."""


def is_permanent(exc: BaseException) -> bool:
    """True when retrying cannot help: `exc` is a PermanentError, or was raised (`raise ... from e`) from
    one. A TransientError, or any other exception, is worth retrying."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, NicheflowError):
            return isinstance(current, PermanentError)
        seen.add(id(current))
        current = current.__cause__
    return False


class WaitUntil(NicheflowError):
    """Not an error to retry with backoff: the work can only go on at `until` (e.g. when YouTube's daily
    quota is back). The task waits deferred, holding no worker slot, and then runs again."""

    def __init__(self, message: str, until: datetime):
        self.until = until
        super().__init__(f"{message}; trying again at {until.isoformat(timespec='minutes')}")
