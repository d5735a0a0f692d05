"""Knowledge first: what does the channel already know about a topic, and what is missing?

The report breaks the topic into the questions a video must answer (knowledge.questions) and scores
each against the stored facts. Gaps are topic words no fact mentions (`term:`), questions with fewer
than two answering facts (`question:`) and a shortfall in the number of facts a script of the target
length needs (`facts:`). Only gaps go to research."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge import store
from knowledge.questions import Answered, score_questions
from pipelines.db import Conn


@dataclass
class KnowledgeReport:
    topic: str
    facts: list[store.Fact]
    terms: list[str]
    matched_terms: list[str]
    needed: int
    questions: list[Answered] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """0..1, the mean of three shares: topic words covered, questions answered, facts a script needs."""
        terms = len(self.matched_terms) / len(self.terms) if self.terms else 0.0
        answered = sum(q.score for q in self.questions) / len(self.questions) if self.questions else 0.0
        enough = min(1.0, len(self.facts) / self.needed) if self.needed else 1.0
        return round((terms + answered + enough) / 3, 3)

    @property
    def sufficient(self) -> bool:
        return not self.gaps

    @property
    def open_questions(self) -> list[Answered]:
        return [q for q in self.questions if q.score < 1]

    def as_json(self) -> dict:
        return {
            "topic": self.topic,
            "fact_ids": [f.id for f in self.facts],
            "terms": self.terms,
            "matched_terms": self.matched_terms,
            "needed": self.needed,
            "gaps": self.gaps,
            "questions": [q.as_json() for q in self.questions],
            "score": self.score,
        }


def query(conn: Conn, channel: str, lang: str, topic: str, needed: int) -> KnowledgeReport:
    facts = store.search_facts(conn, channel, lang, topic)
    terms = store.topic_terms(conn, lang, topic)
    matched = store.terms_matched(conn, channel, terms, [f.id for f in facts])
    questions = score_questions(topic, lang, facts)
    gaps = [f"term:{t}" for t in terms if t not in matched]
    gaps += [f"question:{q.key}" for q in questions if q.score < 1]
    if len(facts) < needed:
        gaps.append(f"facts:{needed - len(facts)} more needed")
    return KnowledgeReport(topic, facts, terms, sorted(matched), needed, questions, gaps)
