-- v10: what nicheflow recorded with each published item besides its listing (a Short's choice: its window,
-- sentences, score and reasons, and its hook line; a video's duration), as the outbox's metadata.json has it.
ALTER TABLE nicheflow.youtube_uploads ADD COLUMN details jsonb NOT NULL DEFAULT '{}'::jsonb;
