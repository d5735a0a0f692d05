-- v3: knowledge system: near-duplicate detection, entities, conflicts, per-production reuse accounting.
SET search_path TO nicheflow, public;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;  -- similarity of claims (near-duplicates)

ALTER TABLE facts ADD COLUMN entities text[] NOT NULL DEFAULT '{}';
ALTER TABLE facts ADD COLUMN conflicts_with bigint[] NOT NULL DEFAULT '{}';  -- flagged for script review
ALTER TABLE facts ADD COLUMN duplicate_of bigint REFERENCES facts(id);  -- set by upkeep; the row then expires
CREATE INDEX facts_claim_trgm ON facts USING gin (claim gin_trgm_ops);

-- What each production took from the knowledge base and what it had to research: the reuse rate.
CREATE TABLE knowledge_usage (
    production_id  bigint PRIMARY KEY REFERENCES productions(id),
    channel        text NOT NULL,
    facts_reused   int NOT NULL,
    facts_new      int NOT NULL,
    duplicates     int NOT NULL DEFAULT 0,
    external_calls int NOT NULL DEFAULT 0,
    providers      text[] NOT NULL DEFAULT '{}',
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
