-- v4: full-text search per channel from one index: (channel, search) in a GIN index (btree_gin), so a
-- channel's query never walks other channels' postings; replaces the search-only index.
SET search_path TO nicheflow, public;
CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public;
DROP INDEX IF EXISTS facts_search;
CREATE INDEX facts_channel_search ON facts USING gin (channel, search);
