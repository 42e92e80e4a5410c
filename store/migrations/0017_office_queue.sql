-- The dispatch office's queue and its live pages (web/command.py).
--
-- 1. The case list keeps what the queue needs (store/projections.py, from domain/office_queue.py): why the office
--    must act apart from the clock, the clock it watches, and pending extension and suspension requests. Rows
--    written before this migration get them from their events (store/migrate.py reads the next line):
-- rectify: reproject cases (attention, clock_stage, clock_due_at, extension_pending, suspension_pending)
ALTER TABLE cases
    ADD COLUMN attention text,
    ADD COLUMN clock_stage text,
    ADD COLUMN clock_due_at timestamptz,
    ADD COLUMN extension_pending double precision,
    ADD COLUMN suspension_pending boolean NOT NULL DEFAULT false;

-- 2. The append's upsert of `cases` names its columns; it now names every column the table has. The function
--    is rewritten from its current definition, whichever migration last gave it, so this file does not repeat
--    (and freeze) the rest of the append.
DO $$
DECLARE
    current_ text := pg_get_functiondef('rectify_append(jsonb)'::regprocedure);
    columns_ text;
    patched_ text;
BEGIN
    SELECT string_agg(format('%1$I = EXCLUDED.%1$I', attname), ', ' ORDER BY attnum) INTO columns_
    FROM pg_attribute
    WHERE attrelid = 'cases'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'case_id';
    patched_ := regexp_replace(current_, '(ON CONFLICT \(case_id\) DO UPDATE SET)[^;]*;', '\1 ' || columns_ || ';');
    IF patched_ = current_ OR patched_ NOT LIKE '%suspension_pending = EXCLUDED.suspension_pending;%' THEN
        RAISE EXCEPTION 'rectify_append has no upsert of cases to extend';
    END IF;
    EXECUTE patched_;
END $$;

CREATE INDEX cases_open_attention_idx ON cases (attention) WHERE attention IS NOT NULL;

-- 3. Every committed append is announced on the channel `rectify_events` with the highest position it wrote, so
--    that each web process (one listening connection each, store/event_feed.py) can tell its open pages what
--    changed. PostgreSQL delivers a notification only when the transaction commits, in commit order, and
--    positions are handed out under the append lock, so a listener that reads up to the announced position
--    reads only committed events and misses none.
CREATE FUNCTION rectify_announce_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_ bigint;
BEGIN
    SELECT max(w.position) INTO last_ FROM written w;
    IF last_ IS NOT NULL THEN
        PERFORM pg_notify('rectify_events', last_::text);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER events_announce AFTER INSERT ON events
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION rectify_announce_events();
