-- Audit support (see audit/).
--
-- 1. Global positions are assigned by the append itself, under its advisory lock, as 1, 2, 3 … with no
--    gaps: an event deleted anywhere leaves a hole that `rectify audit verify` reports.
ALTER TABLE events ALTER COLUMN position DROP IDENTITY IF EXISTS;

-- 2. Checkpoints: a Merkle root over every case's chain head at a global position, themselves chained.
--    Deleting a whole case, truncating the tail or reordering changes the root; the roots are printed
--    where others keep copies (bulletins, export bundles).
CREATE TABLE checkpoints (
    number      integer     PRIMARY KEY CHECK (number >= 1),
    position    bigint      NOT NULL,
    cases       integer     NOT NULL,
    root        text        NOT NULL,
    prev_hash   text        NOT NULL,
    hash        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER checkpoints_no_update_delete
    BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER checkpoints_no_truncate
    BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- 3. Auditors read everything and write nothing: a group role with SELECT only. Roles belong to the
--    whole server, so it is created once and granted in each database. `rectify audit add-auditor NAME`
--    makes a login role in it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rectify_auditor') THEN
        CREATE ROLE rectify_auditor NOLOGIN;
    END IF;
EXCEPTION WHEN unique_violation OR duplicate_object THEN
    NULL;  -- another database's migration created it at the same moment
END $$;
GRANT USAGE ON SCHEMA public TO rectify_auditor;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO rectify_auditor;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO rectify_auditor;
