-- v6: what each research provider was asked, per channel, so the same question is not sent again.
CREATE TABLE research_log (
    id            bigserial PRIMARY KEY,
    channel       text NOT NULL,
    production_id bigint REFERENCES productions(id) ON DELETE SET NULL,
    provider      text NOT NULL,
    query         text NOT NULL,
    question      text,                 -- the question key it was asked for (what/when/who/...), null: the topic
    candidates    integer NOT NULL,     -- facts the provider returned
    new_facts     integer NOT NULL,     -- of those, facts the channel did not know yet
    asked_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX research_log_lookup ON research_log (channel, provider, lower(query), asked_at DESC);
ALTER TABLE knowledge_usage ADD COLUMN questions jsonb NOT NULL DEFAULT '[]';
-- sub-topics a video covered: the headings of its segments that state facts
ALTER TABLE coverage ADD COLUMN subtopics text[] NOT NULL DEFAULT '{}';
