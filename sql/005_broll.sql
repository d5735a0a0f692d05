-- v5: b-roll usage, so a channel never shows the same stock clip twice within its repeat window (30 days by
-- default). Every option offered at the b-roll checkpoint is recorded, so a new revision draws different ones.
SET search_path TO nicheflow, public;
CREATE TABLE broll_usage (
    id            bigserial PRIMARY KEY,
    channel       text NOT NULL,
    provider      text NOT NULL,           -- pexels | pixabay | local | generated
    clip_id       text NOT NULL,           -- the provider's id, or the file's content hash
    production_id bigint NOT NULL REFERENCES productions(id),
    revision      int NOT NULL,
    segment       int NOT NULL,
    used_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (production_id, revision, provider, clip_id)
);
CREATE INDEX broll_usage_recent ON broll_usage (channel, provider, clip_id, used_at);
