-- v7: channel isolation enforced by PostgreSQL, not only by the queries.
-- A connection that enters a channel (pipelines.db.enter_channel) runs as role `nicheflow_channel`, with the
-- setting `nicheflow.channel` and `search_path = nicheflow_channel, nicheflow, public`. Schema
-- `nicheflow_channel` holds, for every table with a `channel` column, a view of that channel's rows alone,
-- under the table's own name; the role has no right on the tables themselves. So a query that forgets its
-- channel filter, or names another channel, still sees only the entered channel's rows, and writing another
-- channel's row is refused (WITH CHECK OPTION). Without the setting the views are empty.
-- Why views and not row-level security: RLS makes the planner evaluate the policy before any qual that is not
-- leakproof, and full-text `@@` and trigram `%` are not, so their indexes could no longer be used (a
-- million-fact channel would scan every row). A plain view is merged into the query and keeps its indexes.
-- The views are (re)made by refresh_channel_views(), which db.migrate() runs after every migration, so a
-- later migration that adds a column or a channel table needs nothing more. One that changes a column's
-- type drops that view first.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nicheflow_channel') THEN
        CREATE ROLE nicheflow_channel NOLOGIN;
    END IF;
    IF NOT pg_has_role(current_user, 'nicheflow_channel', 'MEMBER') THEN  -- a non-superuser owner must SET ROLE
        EXECUTE format('GRANT nicheflow_channel TO %I', current_user);
    END IF;
END $$;

CREATE SCHEMA IF NOT EXISTS nicheflow_channel;
GRANT USAGE ON SCHEMA nicheflow_channel, nicheflow TO nicheflow_channel;

CREATE OR REPLACE FUNCTION nicheflow.refresh_channel_views() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.table_name FROM information_schema.columns c
               JOIN information_schema.tables USING (table_schema, table_name)
              WHERE c.table_schema = 'nicheflow' AND c.column_name = 'channel' AND table_type = 'BASE TABLE'
    LOOP
        EXECUTE format('DROP VIEW IF EXISTS nicheflow_channel.%I', t);
        EXECUTE format('CREATE VIEW nicheflow_channel.%I AS SELECT * FROM nicheflow.%I '
                       'WHERE channel = current_setting(''nicheflow.channel'', true) WITH CHECK OPTION', t, t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON nicheflow_channel.%I TO nicheflow_channel', t);
    END LOOP;
    -- new ids: a serial default is evaluated as the session's role. Tables without a channel column (the
    -- decision audit log) are not reachable from a channel session at all.
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA nicheflow TO nicheflow_channel;
END $$;
