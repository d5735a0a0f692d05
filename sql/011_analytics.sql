-- v11: learning from the audience. Every table has a `channel` column, so a channel session sees only its
-- own rows (007's views), as with the knowledge.
--
-- video_daily: the Analytics API's report per video per day (48-72 h late). One row per (video, day); a
-- later pull of the same day replaces it (YouTube revises recent days).
CREATE TABLE nicheflow.video_daily (
    channel                   text NOT NULL,
    video_id                  text NOT NULL,
    day                       date NOT NULL,
    views                     bigint NOT NULL DEFAULT 0,
    engaged_views             bigint NOT NULL DEFAULT 0,
    estimated_minutes_watched double precision NOT NULL DEFAULT 0,
    average_view_duration     double precision NOT NULL DEFAULT 0,   -- seconds
    average_view_percentage   double precision NOT NULL DEFAULT 0,   -- 0-100
    likes                     bigint NOT NULL DEFAULT 0,
    subscribers_gained        bigint NOT NULL DEFAULT 0,
    fetched_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, video_id, day)
);

-- video_counts: near-real-time totals from the Data API's videos.list (part=statistics), for videos younger
-- than three days, whose Analytics rows have not arrived yet. One row per pull.
CREATE TABLE nicheflow.video_counts (
    channel    text NOT NULL,
    video_id   text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    views      bigint NOT NULL DEFAULT 0,
    likes      bigint NOT NULL DEFAULT 0,
    comments   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, video_id, at)
);

-- video_retention: a video's audience retention curve (about 100 points, elapsedVideoTimeRatio 0.01-1.0),
-- replaced whole by each pull that has one.
CREATE TABLE nicheflow.video_retention (
    channel              text NOT NULL,
    video_id             text NOT NULL,
    elapsed_ratio        double precision NOT NULL,   -- 0.01 .. 1.0 of the video's length
    audience_watch_ratio double precision NOT NULL,   -- share of views still watching (can exceed 1: rewatches)
    relative_retention   double precision,            -- against videos of similar length (0-1), when given
    fetched_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, video_id, elapsed_ratio)
);

-- video_traffic: a long-form video's views by traffic source (insightTrafficSourceType: SHORTS, YT_SEARCH,
-- SUGGESTED_VIDEO, ...), summed over its life; SHORTS says how many viewers its Shorts sent. Replaced by each pull.
CREATE TABLE nicheflow.video_traffic (
    channel    text NOT NULL,
    video_id   text NOT NULL,
    source     text NOT NULL,
    views      bigint NOT NULL DEFAULT 0,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, video_id, source)
);

-- analytics_pulls: what each daily pull of a channel did (ok, skipped: token revoked / analytics refused,
-- failed), so the Analytics page and the operator can see it.
CREATE TABLE nicheflow.analytics_pulls (
    id       bigserial PRIMARY KEY,
    channel  text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    outcome  text NOT NULL CHECK (outcome IN ('ok', 'skipped', 'failed')),
    videos   int NOT NULL DEFAULT 0,
    message  text
);

-- production_costs: what a production spent, one row per (production, key): LLM tokens, TTS characters,
-- YouTube and stock API calls, render CPU-seconds. `key` names the spend (e.g. 'script:r2:llm', 'render:cpu'),
-- so a stage that runs again replaces its own figure instead of adding it twice.
CREATE TABLE nicheflow.production_costs (
    channel        text NOT NULL,
    production_id  bigint NOT NULL REFERENCES nicheflow.productions(id),
    key            text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('llm', 'tts', 'youtube', 'stock', 'research', 'render')),
    provider       text NOT NULL,                     -- groq, azure, espeak, pexels, youtube, ffmpeg, ...
    quantity       double precision NOT NULL,
    unit           text NOT NULL,                     -- tokens, characters, calls, units, cpu_seconds
    cost_usd       numeric(12, 6),                    -- null: the provider has no price (offline, free)
    detail         jsonb NOT NULL DEFAULT '{}'::jsonb,
    at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (production_id, key)
);
CREATE INDEX production_costs_month ON nicheflow.production_costs (channel, at);

-- The quota ledger also records Analytics API calls (their own quota, not the Data API's 10,000 units) and,
-- where a call was made for a production, which one (its cost).
ALTER TABLE nicheflow.youtube_calls ADD COLUMN api text NOT NULL DEFAULT 'data' CHECK (api IN ('data', 'analytics'));
ALTER TABLE nicheflow.youtube_calls ADD COLUMN production_id bigint;

-- Learnings from the audience: evidence-backed entries (the figures behind them), a rule key that the writers
-- read (e.g. 'opening:number', 'length:target_seconds'), and retirement when later data contradicts them.
ALTER TABLE nicheflow.learnings ADD COLUMN rule text;
ALTER TABLE nicheflow.learnings ADD COLUMN evidence jsonb;
ALTER TABLE nicheflow.learnings ADD COLUMN retired_at timestamptz;
ALTER TABLE nicheflow.learnings ADD COLUMN retired_because text;
