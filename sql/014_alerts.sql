-- v14: alerts, the needs-attention queue, and what the ops DAG last saw of each channel's DAGs.
-- Every table has a `channel` column, so a channel session sees only its own rows (007's views); the ops DAG
-- and the Review page read across channels on a connection that has not entered one.

-- alerts: one row per episode of an alert key in a channel. An alert raised again while the same key's last
-- occurrence is younger than the collapse window is counted on that row, not added: the first message goes
-- out once, later occurrences are told in a digest ("happened 4 more times") at most once per window.
-- `once` rows (a day's summary, a stalled production, a checkpoint's quality flags) are raised at most once
-- ever per (channel, key).
CREATE TABLE nicheflow.alerts (
    id             bigserial PRIMARY KEY,
    channel        text NOT NULL,
    production_id  bigint REFERENCES nicheflow.productions(id),
    level          text NOT NULL CHECK (level IN ('critical', 'warning', 'info')),
    key            text NOT NULL,
    title          text NOT NULL,
    body           text NOT NULL DEFAULT '',
    once           boolean NOT NULL DEFAULT false,
    count          int NOT NULL DEFAULT 1 CHECK (count >= 1),
    first_at       timestamptz NOT NULL,
    last_at        timestamptz NOT NULL,
    window_seconds int NOT NULL CHECK (window_seconds > 0),
    notified_count int NOT NULL DEFAULT 0,        -- occurrences already told (first message + digests)
    notified_at    timestamptz,                   -- when the last message (or digest) went out
    attempts       int NOT NULL DEFAULT 0,        -- failed delivery rounds of the current message
    last_error     text,                          -- the last delivery failure (never holds a secret)
    suppressed     boolean NOT NULL DEFAULT false -- below every destination's minimum level: recorded only
);
CREATE INDEX alerts_open ON nicheflow.alerts (channel, key, last_at);
CREATE INDEX alerts_undelivered ON nicheflow.alerts (id) WHERE notified_count < count AND NOT suppressed;
CREATE UNIQUE INDEX alerts_once ON nicheflow.alerts (channel, key) WHERE once;

-- alert_deliveries: each destination a message reached (upto = the occurrences it told), so a round that
-- failed on one destination is retried there only, and never sent twice to the others.
CREATE TABLE nicheflow.alert_deliveries (
    channel     text NOT NULL,
    alert_id    bigint NOT NULL REFERENCES nicheflow.alerts(id) ON DELETE CASCADE,
    upto        int NOT NULL,
    destination text NOT NULL,                    -- 'email:<to,...>' or 'webhook:<connection id>'
    sent_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, upto, destination)
);

-- attention: a task that failed after its retries, with what kind of error it was and what to do; open
-- until the task is retried and succeeds, or the production is rejected (or someone clears it).
CREATE TABLE nicheflow.attention (
    id              bigserial PRIMARY KEY,
    channel         text NOT NULL,
    production_id   bigint REFERENCES nicheflow.productions(id),
    dag_id          text NOT NULL,
    dag_run_id      text NOT NULL,
    task_id         text NOT NULL,
    stage           text NOT NULL,
    category        text NOT NULL CHECK (category IN ('transient', 'permanent', 'data_quality')),
    error           text NOT NULL,
    advice          text NOT NULL,
    tries           int NOT NULL DEFAULT 1,
    failed_at       timestamptz NOT NULL DEFAULT now(),
    retry_requested_at timestamptz,
    retry_requested_by text,
    cleared_at      timestamptz,
    cleared_by      text,
    cleared_because text CHECK (cleared_because IN ('succeeded', 'rejected', 'cleared')),
    CHECK ((cleared_at IS NULL) = (cleared_because IS NULL))
);
CREATE UNIQUE INDEX attention_open ON nicheflow.attention (dag_id, dag_run_id, task_id) WHERE cleared_at IS NULL;

-- channel_watch: whether each channel DAG was paused when the ops DAG last looked, so a pause is told once.
CREATE TABLE nicheflow.channel_watch (
    channel    text NOT NULL,
    dag_id     text PRIMARY KEY,
    paused     boolean NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT now()
);
