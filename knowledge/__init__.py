"""Knowledge: each channel's facts, learnings and coverage in PostgreSQL, the query engine that scores what a topic needs, and upkeep (consolidation and expiry)."""
