"""Online research provider: a key-based web search API (Brave Search).

GET {base_url}/res/v1/web/search?q=...&count=...&search_lang=en|pt-br with the key in the
`X-Subscription-Token` header. Results are in `web.results[]` (`title`, `url`, `description`, and
`extra_snippets` on plans that have them). Snippets are short and sometimes cut mid-sentence, so only
complete sentences are kept, and they are stored with a lower confidence than encyclopedia text.

The key is only ever put in that header: it is not logged, not in any error message and not in repr().
Brave answers a wrong key with 401/403, or with 422 and the code SUBSCRIPTION_TOKEN_INVALID; all three
fail at once, without retrying, as ProviderRejected (permanent)."""

from __future__ import annotations

import html
import re

import httpx

from knowledge.text import claim_sentences
from pipelines.providers.http import (
    ProviderError,
    ProviderRejected,
    RetryPolicy,
    json_body,
    make_client,
    send,
)
from pipelines.providers.research.base import FoundFact

CONFIDENCE = 0.5
KEY_REJECTED = (
    "the web search key was rejected: set a valid key in the Airflow connection "
    "'websearch_default' or BRAVE_SEARCH_API_KEY"
)
KEY_MISSING = (
    "no web search key: set one in the Airflow connection 'websearch_default' or BRAVE_SEARCH_API_KEY"
)
_SEARCH_LANG = {"en": "en", "pt-BR": "pt-br"}
_COUNTRY = {"en": None, "pt-BR": "BR"}
_TAG = re.compile(r"<[^>]+>")


def clean_snippet(text: str) -> str:
    """Plain text from a result snippet: tags (<strong>) removed, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(_TAG.sub("", text)).split())


class WebSearch:
    """Brave Search as a research provider: facts from the complete sentences of result snippets (see the
    module's docstring)."""

    name = "web search"
    external = True

    def __init__(
        self,
        api_key: str,
        *,
        language: str = "en",
        base_url: str = "https://api.search.brave.com",
        timeout: float = 10,
        max_attempts: int = 4,
        backoff: float = 0.5,
        retry_after_cap: float = 30.0,
    ):
        if language not in _SEARCH_LANG:
            raise ValueError(f"language must be one of {sorted(_SEARCH_LANG)}, not {language!r}")
        self._key = (api_key or "").strip()
        self.language = language
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.policy = RetryPolicy(max_attempts=max_attempts, backoff=backoff, retry_after_cap=retry_after_cap)

    def __repr__(self) -> str:
        return f"WebSearch(language={self.language!r}, base_url={self.base_url!r}, api_key=<hidden>)"

    def _reject(self, response: httpx.Response) -> ProviderError | None:
        status = response.status_code
        error = _error_of(response)
        if status in (401, 403) or error.get("code") == "SUBSCRIPTION_TOKEN_INVALID":
            return ProviderRejected(self.name, status, KEY_REJECTED)
        if status == 422:
            return ProviderRejected(
                self.name,
                status,
                f"the search API rejected the request parameters ({error.get('code', '?')}: "
                f"{error.get('detail', 'no detail')}); not retried",
            )
        return None

    def search(self, query: str, count: int) -> list[dict]:
        """The raw `web.results` for `query` ([] when there are none)."""
        if not self._key:
            raise ProviderRejected(self.name, None, KEY_MISSING)
        params = {
            "q": query,
            "count": str(max(1, min(count, 20))),
            "search_lang": _SEARCH_LANG[self.language],
            "extra_snippets": "true",
            "text_decorations": "false",
        }
        if country := _COUNTRY[self.language]:
            params["country"] = country
        headers = {
            "X-Subscription-Token": self._key,
            "Accept": "application/json",
            "User-Agent": "nicheflow/0.1 (research)",
        }
        with make_client(timeout=self.timeout, headers=headers, base_url=self.base_url) as client:
            response = send(
                client,
                "GET",
                "/res/v1/web/search",
                provider=self.name,
                policy=self.policy,
                params=params,
                reject=self._reject,
            )
            data = json_body(response, self.name)
        web = data.get("web") or {}
        results = web.get("results") if isinstance(web, dict) else None
        return [r for r in (results or []) if isinstance(r, dict) and r.get("url")]

    def research(self, query: str, max_results: int = 10, max_facts: int = 40) -> list[FoundFact]:
        """Facts from the snippets of the top `max_results` results, each result's sentences in order."""
        query = " ".join(query.split())
        if not query or max_results < 1 or max_facts < 1:
            return []
        facts: list[FoundFact] = []
        seen: set[str] = set()
        seen_urls: set[str] = set()
        for result in self.search(query, max_results)[:max_results]:
            url = result["url"]
            if url in seen_urls:
                continue
            seen_urls.add(url)
            title = clean_snippet(result.get("title") or "") or url
            texts = [result.get("description") or ""] + [
                s for s in result.get("extra_snippets") or [] if isinstance(s, str)
            ]
            position = 0
            for text in texts:
                for claim in claim_sentences(clean_snippet(text), self.language):
                    if claim in seen:
                        continue
                    seen.add(claim)
                    facts.append(
                        {
                            "claim": claim,
                            "source_title": title,
                            "source_url": url,
                            "source_path": None,
                            "position": position,
                            "confidence": CONFIDENCE,
                        }
                    )
                    position += 1
                    if len(facts) >= max_facts:
                        return facts
        return facts


def _error_of(response: httpx.Response) -> dict:
    """The `error` object of a Brave ErrorResponse body, or {}."""
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}
