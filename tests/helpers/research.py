"""Research-provider tests' shared parts: the fake servers as fixtures' makers, and providers pointed at them."""

from __future__ import annotations

from pipelines.providers.research.websearch import WebSearch
from pipelines.providers.research.wikipedia import WikipediaSources
from tests.helpers.fake_research_servers import FakeBraveSearch, FakeWikipedia

KEY = "test-key-valid"
FACT_KEYS = {"claim", "source_title", "source_url", "source_path", "position", "confidence"}
FAST = {"timeout": 2, "backoff": 0.05}


def wikipedia(server: FakeWikipedia, language: str = "en", **kw) -> WikipediaSources:
    return WikipediaSources(language, base_url=server.base_url(language), **{**FAST, **kw})


def websearch(server: FakeBraveSearch, key: str = KEY, **kw) -> WebSearch:
    return WebSearch(key, base_url=server.url, **{**FAST, **kw})
