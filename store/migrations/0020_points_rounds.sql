-- Inspection points and rounds (issue 20). Their events live in `events` beside the cases', under stream ids
-- 'pt-<point id>' and 'rd-<round id>', with the same hash chains, seals and checkpoints. These are their read
-- models, written by the same append in the same transaction and rebuildable from the events.
--
-- 1. A case opened by a failed checklist item carries its point (store/projections.py):
-- rectify: reproject cases (point_id)
ALTER TABLE cases ADD COLUMN point_id text;
CREATE INDEX cases_point_idx ON cases (point_id) WHERE point_id IS NOT NULL;

-- 2. Each point as its records leave it: readiness needs when it was last checked and what still fails; the
--    rest of readiness (cases overdue) is read from `cases` by point_id, the window from the policy.
CREATE TABLE points (
    point_id         text PRIMARY KEY,
    category         text        NOT NULL,
    checks           integer     NOT NULL,
    last_checked_at  timestamptz,
    last_round_id    text,
    last_inspector   text,
    open_failures    integer     NOT NULL,
    failed_items     text        NOT NULL,
    cases_opened     integer     NOT NULL,
    version          integer     NOT NULL
);

-- 3. Each round: who walks it, by when, how far it got, whether it missed its due time.
CREATE TABLE rounds (
    round_id          text PRIMARY KEY,
    kind              text        NOT NULL,
    status            text        NOT NULL,
    inspector_unit    text        NOT NULL,
    leader            text,
    task_group        text,
    planned_at        timestamptz NOT NULL,
    due_at            timestamptz NOT NULL,
    points            integer     NOT NULL,
    recorded          integer     NOT NULL,
    failed            integer     NOT NULL,
    missed            boolean     NOT NULL,
    escalation_level  integer     NOT NULL,
    ended_at          timestamptz,
    version           integer     NOT NULL
);
CREATE INDEX rounds_planned_idx ON rounds (planned_at DESC);
CREATE INDEX rounds_open_idx ON rounds (due_at) WHERE status = 'open';

-- 4. The append writes them: its upsert of `cases` names every column the table now has (as migration 0017 does),
--    and the points' and rounds' rows are upserted before the position lock, like the other read models. The
--    function is rewritten from its current definition, so this file does not repeat (and freeze) the rest of it.
DO $$
DECLARE
    current_ text := pg_get_functiondef('rectify_append(jsonb)'::regprocedure);
    columns_ text;
    points_ text;
    rounds_ text;
    patched_ text;
BEGIN
    SELECT string_agg(format('%1$I = EXCLUDED.%1$I', attname), ', ' ORDER BY attnum) INTO columns_
    FROM pg_attribute
    WHERE attrelid = 'cases'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'case_id';
    SELECT string_agg(format('%1$I = EXCLUDED.%1$I', attname), ', ' ORDER BY attnum) INTO points_
    FROM pg_attribute
    WHERE attrelid = 'points'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'point_id';
    SELECT string_agg(format('%1$I = EXCLUDED.%1$I', attname), ', ' ORDER BY attnum) INTO rounds_
    FROM pg_attribute
    WHERE attrelid = 'rounds'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'round_id';
    patched_ := regexp_replace(current_, '(ON CONFLICT \(case_id\) DO UPDATE SET)[^;]*;', '\1 ' || columns_ || ';');
    IF patched_ = current_ OR patched_ NOT LIKE '%point_id = EXCLUDED.point_id;%' THEN
        RAISE EXCEPTION 'rectify_append has no upsert of cases to extend';
    END IF;
    current_ := patched_;
    patched_ := replace(current_, 'PERFORM pg_advisory_xact_lock(7310425002);',
        'INSERT INTO points SELECT * FROM jsonb_populate_recordset(NULL::points, coalesce(p->''points'', ''[]''))'
        || ' ON CONFLICT (point_id) DO UPDATE SET ' || points_ || E';\n    '
        || 'INSERT INTO rounds SELECT * FROM jsonb_populate_recordset(NULL::rounds, coalesce(p->''rounds'', ''[]''))'
        || ' ON CONFLICT (round_id) DO UPDATE SET ' || rounds_ || E';\n\n    '
        || 'PERFORM pg_advisory_xact_lock(7310425002);');
    IF patched_ = current_ THEN
        RAISE EXCEPTION 'rectify_append has no position lock to put the points and rounds before';
    END IF;
    EXECUTE patched_;
END $$;
