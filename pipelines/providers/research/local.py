"""Offline research provider: the channel's own source documents (knowledge/sources/<channel>/*.md).

Documents are ranked against the topic with PostgreSQL full-text search in the channel's language, so
stemming works the same way as for stored facts. Every sentence of a relevant document becomes a fact
whose source is that document."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg.rows import DictRow

from knowledge.sources import SourceDocument, read_all
from pipelines.paths import REPO
from pipelines.providers.research.base import FoundFact


class LocalSources:
    """The research slot's offline default: the channel's source documents (see the module's docstring)."""

    name = "local source documents"
    external = False

    def __init__(
        self, folder: Path, language: str, conn: psycopg.Connection[DictRow], text_search_config: str
    ):
        self.folder = folder
        self.language = language  # the channel's ("en", "pt-BR"): how sentences split
        # ranks with PostgreSQL full-text search, in the channel's text search config; a pipelines.db.Conn
        # (spelled out: a provider does not import pipelines.db)
        self.conn = conn
        self.lang = text_search_config

    def rank(self, query: str) -> list[tuple[float, SourceDocument]]:
        """The documents that match `query` (full-text rank above 0) with their rank, best first."""
        conn, lang = self.conn, self.lang
        docs = read_all(self.folder)
        ranked = []
        for doc in docs:
            row = conn.execute(
                """SELECT ts_rank_cd(to_tsvector(%(lang)s::regconfig, %(text)s),
                          replace(plainto_tsquery(%(lang)s::regconfig, %(q)s)::text, '&', '|')::tsquery) AS r""",
                {"lang": lang, "text": f"{doc.title}. {doc.title}. {doc.body}", "q": query},
            ).fetchone()
            assert row is not None, "a SELECT without FROM returns one row"
            if row["r"] > 0:
                ranked.append((float(row["r"]), doc))
        ranked.sort(key=lambda x: -x[0])
        return ranked

    def research(self, query: str, max_docs: int = 2) -> list[FoundFact]:
        """Facts from the best-matching documents: those within half the best document's score."""
        ranked = self.rank(query)
        if not ranked:
            return []
        best = ranked[0][0]
        facts: list[FoundFact] = []
        for score, doc in ranked[:max_docs]:
            if score < best / 2:
                break
            try:
                rel = str(doc.path.relative_to(REPO))
            except ValueError:
                rel = str(doc.path)
            facts.extend(
                {
                    "claim": s,
                    "source_title": doc.title,
                    "source_url": doc.reference_url,
                    "source_path": rel,
                    "position": i,
                    "confidence": 0.9,
                }
                for i, s in enumerate(doc.sentences(self.language))
            )
        return facts
