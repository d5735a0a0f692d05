-- v2: review experience: edits on decisions, an audit log, stalled productions, reminders.
SET search_path TO nicheflow;

ALTER TABLE productions DROP CONSTRAINT productions_status_check;
ALTER TABLE productions ADD CONSTRAINT productions_status_check
    CHECK (status IN ('running', 'stalled', 'rejected', 'published', 'failed'));

ALTER TABLE checkpoints ADD COLUMN edits jsonb;               -- what "approve with edits" changed
ALTER TABLE checkpoints ADD COLUMN reminders int NOT NULL DEFAULT 0;
ALTER TABLE checkpoints ADD COLUMN last_reminder_at timestamptz;

-- Every decision and reopen, in order: who, what, when. Rows are never updated.
CREATE TABLE checkpoint_events (
    id            bigserial PRIMARY KEY,
    checkpoint_id bigint NOT NULL REFERENCES checkpoints(id),
    action        text NOT NULL CHECK (action IN ('approved', 'changes_requested', 'rejected', 'reopened')),
    actor         text NOT NULL,
    notes         text,
    edits         jsonb,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX checkpoint_events_checkpoint ON checkpoint_events (checkpoint_id);
