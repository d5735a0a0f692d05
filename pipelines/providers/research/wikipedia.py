"""Online research provider: Wikipedia in the channel's language, through the MediaWiki Action API.

Two kinds of request, both GET {base_url}/w/api.php:
1. `list=search` finds the best pages for the query (main namespace only).
2. `prop=extracts|info|pageprops` with `explaintext` returns each page's whole text as plain text (section
   headings as "== Heading ==") and its canonical URL. TextExtracts returns only one whole-page extract
   per request (`exlimit` is 1 unless `exintro` is set), so pages are fetched one at a time. `exintro`
   is a MediaWiki boolean: present means true whatever its value, so it is left out, not sent as 0.

Every sentence of a page becomes a fact whose source is that page, like the local source documents do.
Disambiguation pages and the reference-like sections (See also, References, ...) are skipped."""

from __future__ import annotations

import logging
import re

import httpx

from knowledge.text import claim_sentences
from pipelines.providers.http import (
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RetryPolicy,
    json_body,
    make_client,
    send,
)
from pipelines.providers.research.base import FoundFact

log = logging.getLogger(__name__)

_HOSTS = {"en": "https://en.wikipedia.org", "pt-BR": "https://pt.wikipedia.org"}
_HEADING = re.compile(r"^\s*(=+)\s*(.*?)\s*\1\s*$")
# Sections that hold lists of links and citations, not prose.
_SKIP_SECTIONS = {
    "see also",
    "references",
    "notes",
    "footnotes",
    "citations",
    "sources",
    "bibliography",
    "further reading",
    "external links",
    "notes and references",
    "ver também",
    "referências",
    "notas",
    "notas e referências",
    "bibliografia",
    "leitura adicional",
    "ligações externas",
    "fontes",
    "leitura complementar",
}
CONFIDENCE = 0.8
# MediaWiki error codes that mean the wiki is busy, not that the request is wrong
_BUSY_CODES = {"maxlag", "ratelimited", "readonly"}


class WikipediaSources:
    """Wikipedia in the channel's language as a research provider: facts from the best pages' text (see the
    module's docstring)."""

    name = "wikipedia"
    external = True

    def __init__(
        self,
        language: str,
        *,
        base_url: str | None = None,
        timeout: float = 10,
        max_attempts: int = 4,
        user_agent: str = "nicheflow/0.1 (research; contact: operator)",
        backoff: float = 0.5,
        retry_after_cap: float = 30.0,
    ):
        if language not in _HOSTS:
            raise ValueError(f"language must be one of {sorted(_HOSTS)}, not {language!r}")
        self.language = language
        self.base_url = (base_url or _HOSTS[language]).rstrip("/")
        self.timeout = timeout
        self.user_agent = user_agent
        self.policy = RetryPolicy(max_attempts=max_attempts, backoff=backoff, retry_after_cap=retry_after_cap)

    # -- API calls ------------------------------------------------------------------------------------

    def _get(self, client: httpx.Client, params: dict) -> dict:
        response = send(
            client,
            "GET",
            "/w/api.php",
            provider=self.name,
            policy=self.policy,
            params={**params, "format": "json", "formatversion": "2"},
            reject=self._reject,
        )
        data = json_body(response, self.name)
        if "error" in data:  # MediaWiki reports API errors with HTTP 200
            err = data["error"] if isinstance(data["error"], dict) else {}
            code = str(err.get("code", "?"))
            # the wiki's own trouble (a database error, replication lag, read-only mode) passes; the rest
            # is this request
            busy = code.startswith("internal_api_error") or code in _BUSY_CODES
            raise (ProviderUnavailable if busy else ProviderRejected)(
                self.name,
                response.status_code,
                f"MediaWiki API error {code!r}: {err.get('info', data['error'])}"
                + ("; try again later" if busy else "; the request needs fixing, not retrying"),
            )
        return data

    def _reject(self, response: httpx.Response) -> ProviderError | None:
        status = response.status_code
        if status == 403:
            return ProviderRejected(
                self.name,
                status,
                f"{self.base_url} refused the request. Wikimedia blocks requests without a "
                "descriptive User-Agent with a contact: set NICHEFLOW_CONTACT to your e-mail or URL "
                f"(now {self.user_agent!r})",
            )
        if status == 404:
            return ProviderRejected(
                self.name, status, f"no MediaWiki API at {self.base_url}/w/api.php: check base_url"
            )
        return None

    def search(self, client: httpx.Client, query: str, limit: int) -> list[dict]:
        """The `list=search` hits for `query` (page id and title), best first, at most `limit`."""
        data = self._get(
            client,
            {
                "action": "query",
                "list": "search",
                "srsearch": query,
                "srlimit": str(limit),
                "srnamespace": "0",
                "srprop": "",
            },
        )
        return list((data.get("query") or {}).get("search") or [])

    def page(self, client: httpx.Client, pageid: int) -> dict | None:
        """One page's plain-text extract, canonical URL and disambiguation flag; None when it is missing."""
        data = self._get(
            client,
            {
                "action": "query",
                "prop": "extracts|info|pageprops",
                "explaintext": "1",
                "exsectionformat": "wiki",
                "inprop": "url",
                "ppprop": "disambiguation",
                "pageids": str(pageid),
            },
        )
        pages = (data.get("query") or {}).get("pages") or []
        if isinstance(pages, dict):  # formatversion=1 shape, keyed by page id
            pages = list(pages.values())
        for p in pages:
            if p.get("pageid") == pageid and not p.get("missing") and "invalid" not in p:
                return p
        return None

    # -- facts ----------------------------------------------------------------------------------------

    def page_sentences(self, extract: str) -> list[str]:
        """Claim sentences of a plain-text extract: headings dropped, reference-like sections skipped."""
        keep: list[str] = []
        skip_level = 0  # level of the skipped section we are in; 0 = not skipping
        for line in extract.splitlines():
            m = _HEADING.match(line)
            if m:
                level, title = len(m.group(1)), m.group(2).casefold()
                if skip_level and level <= skip_level:
                    skip_level = 0
                if not skip_level and title in _SKIP_SECTIONS:
                    skip_level = level
                continue
            if not skip_level:
                keep.append(line)
        return claim_sentences("\n".join(keep), self.language)

    def research(self, query: str, max_pages: int = 2, max_facts: int = 40) -> list[FoundFact]:
        """Facts from the best `max_pages` Wikipedia pages for `query`; [] when nothing matches.

        The `max_facts` budget is shared fairly between pages (a long first article does not crowd out
        the second); each page's facts keep their article order and `position`."""
        query = " ".join(query.split())
        if not query or max_pages < 1 or max_facts < 1:
            return []
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        with make_client(
            timeout=self.timeout, headers=headers, base_url=self.base_url, follow_redirects=True
        ) as client:
            hits = self.search(client, query, max_pages)
            per_page: list[tuple[dict, list[str]]] = []
            for hit in hits[:max_pages]:
                page = self.page(client, int(hit["pageid"]))
                if page is None:
                    continue
                if "disambiguation" in (page.get("pageprops") or {}):
                    log.info("wikipedia: skipping disambiguation page %r", page.get("title"))
                    continue
                per_page.append((page, self.page_sentences(page.get("extract") or "")))
        facts: list[FoundFact] = []
        seen: set[str] = set()
        for (page, claims), take in zip(
            per_page, _fair_shares([len(c) for _, c in per_page], max_facts), strict=True
        ):
            url = page.get("canonicalurl") or page.get("fullurl")
            for position, claim in enumerate(claims[:take]):
                if claim in seen:
                    continue
                seen.add(claim)
                facts.append(
                    {
                        "claim": claim,
                        "source_title": page["title"],
                        "source_url": url,
                        "source_path": None,
                        "position": position,
                        "confidence": CONFIDENCE,
                    }
                )
        return facts


def _fair_shares(available: list[int], budget: int) -> list[int]:
    """Split `budget` across lists of these lengths, round-robin, so short lists give their slack away."""
    shares = [0] * len(available)
    while budget > 0:
        progressed = False
        for i, n in enumerate(available):
            if budget > 0 and shares[i] < n:
                shares[i] += 1
                budget -= 1
                progressed = True
        if not progressed:
            break
    return shares
