"""Knowledge first: what does the channel already know about a topic, and what is missing?"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from knowledge import store


@dataclass
class KnowledgeReport:
    topic: str
    facts: list[store.Fact]
    terms: list[str]
    matched_terms: list[str]
    needed: int
    gaps: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """0..1: share of topic terms covered, times share of the facts a script needs."""
        terms = len(self.matched_terms) / len(self.terms) if self.terms else 0.0
        return round(terms * min(1.0, len(self.facts) / self.needed), 3) if self.needed else terms

    @property
    def sufficient(self) -> bool:
        return not self.gaps

    def as_json(self) -> dict:
        return {"topic": self.topic, "fact_ids": [f.id for f in self.facts], "terms": self.terms,
                "matched_terms": self.matched_terms, "needed": self.needed, "gaps": self.gaps,
                "score": self.score}


def query(conn: psycopg.Connection, channel: str, lang: str, topic: str, needed: int) -> KnowledgeReport:
    facts = store.search_facts(conn, channel, lang, topic)
    terms = store.topic_terms(conn, lang, topic)
    matched = store.terms_matched(conn, channel, terms, [f.id for f in facts])
    gaps = [f"term:{t}" for t in terms if t not in matched]
    if len(facts) < needed:
        gaps.append(f"facts:{needed - len(facts)} more needed")
    return KnowledgeReport(topic, facts, terms, sorted(matched), needed, gaps)
