-- nicheflow schema v1: productions, checkpoints, knowledge (facts, coverage, learnings).
-- Every row that belongs to a channel carries `channel`; queries always filter on it.
CREATE SCHEMA IF NOT EXISTS nicheflow;
SET search_path TO nicheflow;

CREATE TABLE productions (
    id           bigserial PRIMARY KEY,
    channel      text NOT NULL,
    topic        text NOT NULL,
    dag_run_id   text NOT NULL,
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'rejected', 'published', 'failed')),
    workspace    text NOT NULL,
    target_seconds int CHECK (target_seconds BETWEEN 20 AND 1800),  -- per-run override of the config
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel, dag_run_id)
);

CREATE TABLE checkpoints (
    id            bigserial PRIMARY KEY,
    production_id bigint NOT NULL REFERENCES productions(id),
    channel       text NOT NULL,
    stage         text NOT NULL CHECK (stage IN ('script', 'audio', 'broll', 'final')),
    revision      int NOT NULL CHECK (revision >= 1),
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'approved', 'changes_requested', 'rejected')),
    artifacts     jsonb NOT NULL DEFAULT '{}'::jsonb,
    reviewer      text,
    notes         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    decided_at    timestamptz,
    UNIQUE (production_id, stage, revision),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE INDEX checkpoints_pending ON checkpoints (channel, stage) WHERE status = 'pending';

CREATE TABLE facts (
    id            bigserial PRIMARY KEY,
    channel       text NOT NULL,
    language      regconfig NOT NULL,
    claim         text NOT NULL,
    source_title  text NOT NULL,
    source_url    text,
    source_path   text,
    retrieved_at  timestamptz NOT NULL DEFAULT now(),
    confidence    real NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    expires_at    timestamptz,
    position      int NOT NULL DEFAULT 0,  -- sentence order inside its source, for coherent scripts
    search        tsvector GENERATED ALWAYS AS (to_tsvector(language, claim)) STORED,
    UNIQUE (channel, claim)
);
CREATE INDEX facts_search ON facts USING gin (search);
CREATE INDEX facts_channel ON facts (channel);

CREATE TABLE coverage (
    id            bigserial PRIMARY KEY,
    channel       text NOT NULL,
    topic         text NOT NULL,
    production_id bigint NOT NULL REFERENCES productions(id),
    fact_ids      bigint[] NOT NULL DEFAULT '{}',
    covered_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel, production_id)
);

CREATE TABLE learnings (
    id            bigserial PRIMARY KEY,
    channel       text NOT NULL,
    production_id bigint REFERENCES productions(id),
    kind          text NOT NULL,
    lesson        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
