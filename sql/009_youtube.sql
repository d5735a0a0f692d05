-- v9: publishing to YouTube, exactly once, within the quota.
--
-- youtube_uploads: one row per item (a production's long-form video or one of its Shorts), written by the
-- publish stage as it goes: the resumable session URI and the bytes the server acknowledged after every
-- chunk, the video id once the upload completed, and which follow-up steps (thumbnail, captions, playlist
-- items) are done. A retried task reads it, asks the server where the session stands, and continues; an item
-- with a video id is never uploaded again. It has a `channel` column, so a channel session sees only its own.
CREATE TABLE nicheflow.youtube_uploads (
    item           text PRIMARY KEY,                 -- e.g. 00042-longform, 00042-short-1
    channel        text NOT NULL,
    production_id  bigint NOT NULL REFERENCES nicheflow.productions(id),
    kind           text NOT NULL CHECK (kind IN ('longform', 'short')),
    project        text NOT NULL,                    -- the Google Cloud project whose quota it spends
    youtube_channel text,                            -- the YouTube channel id the token was bound to
    size_bytes     bigint NOT NULL,
    session_uri    text,
    progress_bytes bigint NOT NULL DEFAULT 0,        -- what the server last said it holds
    sessions       int NOT NULL DEFAULT 0,           -- upload sessions started for this item
    video_id       text,
    publish_at     timestamptz,                      -- null: published when ready, with the configured privacy
    privacy        text NOT NULL,
    steps          jsonb NOT NULL DEFAULT '{}'::jsonb, -- step -> "done" | a message (why it could not be done)
    state          text NOT NULL DEFAULT 'uploading'
                   CHECK (state IN ('uploading', 'waiting', 'uploaded', 'published', 'failed')),
    waiting_until  timestamptz,                      -- state waiting: when the task tries again
    message        text,                             -- waiting/failed: why, in words for the operator
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX youtube_uploads_production ON nicheflow.youtube_uploads (production_id);
CREATE INDEX youtube_uploads_video ON nicheflow.youtube_uploads (video_id);

-- The quota ledger: every call made to the YouTube APIs, failed ones too (YouTube charges those), with the
-- Google Cloud project whose quota it spent and the Pacific-time day it counts against (the quota resets at
-- midnight Pacific). No `channel` column on purpose: a project's quota is shared by all its channels, so the
-- ledger is read across channels (by a connection not entered into one).
CREATE TABLE nicheflow.youtube_calls (
    id         bigserial PRIMARY KEY,
    project    text NOT NULL,
    pt_day     date NOT NULL,
    method     text NOT NULL,                        -- videos.insert, thumbnails.set, ...
    units      int NOT NULL,                         -- in the shared 10,000-unit bucket
    upload     boolean NOT NULL DEFAULT false,       -- counts in the 100-uploads-a-day bucket
    ok         boolean NOT NULL,
    reason     text,                                 -- Google's error reason when not ok
    for_channel text NOT NULL,                       -- the nicheflow channel that made it
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX youtube_calls_day ON nicheflow.youtube_calls (project, pt_day);
