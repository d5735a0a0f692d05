-- v8: which stages have a checkpoint is said once, by pipelines/stages/registry.py (checked where a
-- checkpoint is opened); the table no longer lists them, so adding a stage needs no migration.
ALTER TABLE nicheflow.checkpoints DROP CONSTRAINT IF EXISTS checkpoints_stage_check;
