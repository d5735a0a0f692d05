-- v15: the operating metrics' own record: every call to an external service (pipelines/latency.py), for the
-- API latency p50/p95/p99 per provider. The other five metrics are read from the tables that already hold
-- them (productions, checkpoints, youtube_uploads, knowledge_usage, production_costs): pipelines/metrics.py.
-- Written in one INSERT per task by a connection that has not entered a channel; `channel` is the channel the
-- call was made for (null outside one, e.g. `nicheflow youtube connect`), so a channel session sees its own.
CREATE TABLE nicheflow.api_calls (
    id            bigserial PRIMARY KEY,
    provider      text NOT NULL,                 -- groq, azure, pexels, pixabay, commons, wikipedia, brave, youtube
    operation     text NOT NULL DEFAULT '',      -- e.g. GET /w/api.php, chat.completions, videos.insert
    seconds       double precision NOT NULL CHECK (seconds >= 0),
    outcome       text NOT NULL,                 -- ok, http_<status>, timeout, unreachable, error
    ok            boolean NOT NULL,
    channel       text,
    production_id bigint,                        -- no foreign key: a timing never blocks a production's rows
    stage         text,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_calls_provider_at ON nicheflow.api_calls (provider, at);
CREATE INDEX api_calls_channel_at ON nicheflow.api_calls (channel, at);
