"""The research slot's interface: `research(query) -> [FoundFact]`, the candidate facts a source has on
a query, each with its source, in the source's own order. The knowledge stage stores the new ones (near
duplicates of stored facts are not) and decides what to ask which provider: local documents once, for
the topic and its missing words; external providers (`external = True`) one call at a time, within the
channel's call budget."""

from __future__ import annotations

from typing import NotRequired, Protocol, TypedDict


class FoundFact(TypedDict):
    """One candidate fact, as knowledge.store.add_facts takes it."""

    claim: str
    source_title: str
    source_url: str | None
    source_path: NotRequired[str | None]
    position: int
    confidence: float


class ResearchProvider(Protocol):
    """A source of facts: the channel's documents (research.local), Wikipedia, a web search API."""

    name: str
    external: bool  # a call leaves the machine: counted against the channel's budget, logged, not repeated

    def research(self, query: str) -> list[FoundFact]:
        """The candidate facts this source has on `query`, each with its source, in the source's order; []
        when it has none. An online provider that fails raises a ProviderError (rejected or unavailable)."""
        ...
