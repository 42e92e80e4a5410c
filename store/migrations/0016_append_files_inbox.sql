-- The append files the notices in the units' inboxes itself (issue 19): one call per append instead of two.
-- Until now the case workflow's append activity called `deliver_outbox` after `rectify_append`, a second round
-- trip that selected the case's undelivered outbox rows, filed them in the inbox and marked them delivered. The
-- recipients are units of this same database, so the function does that in its own transaction.
-- `EventStore.deliver_outbox` stays for a notice left undelivered (an outbox row written any other way).

-- Notices written before this migration and not delivered yet are filed now, as the delivery call would have.
WITH picked AS (SELECT * FROM outbox WHERE delivered_at IS NULL FOR UPDATE),
filed AS (
    INSERT INTO inbox (notification_id, unit_id, case_id, kind, text)
    SELECT notification_id, recipient, case_id, kind, text FROM picked
    ON CONFLICT DO NOTHING
)
UPDATE outbox o SET delivered_at = clock_timestamp(), attempts = o.attempts + 1
FROM picked WHERE o.notification_id = picked.notification_id;

-- The append of migration 0009, the notices filed as above.
CREATE OR REPLACE FUNCTION rectify_append(p jsonb)
RETURNS TABLE (case_id text, version integer, event_id text, "position" bigint, hash text, body jsonb,
               duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    stream record;
    head record;
    last_event record;
    ev record;
    at_ timestamptz;
    base_ bigint;
    prev_ text;
    stream_ text;
    seals_ text[] := ARRAY[]::text[];
BEGIN
    FOR stream IN SELECT * FROM jsonb_to_recordset(p->'streams') AS s(case_id text, expected integer, prev_hash text)
    LOOP
        SELECT e.version, e.hash INTO head FROM events e
        WHERE e.case_id = stream.case_id ORDER BY e.version DESC LIMIT 1;
        IF coalesce(head.version, 0) <> stream.expected
           OR (head.version IS NOT NULL AND head.hash <> stream.prev_hash) THEN
            -- A retried append finds its stream moved on by its own events: answer with them.
            RETURN QUERY
                SELECT e.case_id, e.version, e.event_id, e.position, e.hash, e.body, true
                FROM events e
                WHERE e.event_id = ANY (ARRAY(SELECT x->>'event_id' FROM jsonb_array_elements(p->'events') x));
            IF FOUND THEN
                RETURN;
            END IF;
            RAISE EXCEPTION 'stream % is at version %, not %', stream.case_id, coalesce(head.version, 0),
                stream.expected
                USING ERRCODE = 'RX409',
                      DETAIL = json_build_object('case_id', stream.case_id, 'version', coalesce(head.version, 0),
                                                 'hash', head.hash)::text;
        END IF;
    END LOOP;

    -- Read models, facts and the outbox first, rows in id order (the client sorts them), so concurrent
    -- batches never deadlock; the position lock comes last and is held only for the events and the commit.
    INSERT INTO cases AS c
    SELECT * FROM jsonb_populate_recordset(NULL::cases, p->'cases')
    ON CONFLICT (case_id) DO UPDATE SET
        status = EXCLUDED.status, category = EXCLUDED.category, description = EXCLUDED.description,
        channel = EXCLUDED.channel, lead_unit = EXCLUDED.lead_unit, territorial_unit = EXCLUDED.territorial_unit,
        grid_id = EXCLUDED.grid_id, road_chief = EXCLUDED.road_chief, guarantee_unit = EXCLUDED.guarantee_unit,
        escalation_level = EXCLUDED.escalation_level, due_at = EXCLUDED.due_at, opened_at = EXCLUDED.opened_at,
        closed_at = EXCLUDED.closed_at, ended_at = EXCLUDED.ended_at, rework_count = EXCLUDED.rework_count,
        version = EXCLUDED.version, lon = EXCLUDED.lon, lat = EXCLUDED.lat, address = EXCLUDED.address,
        media_url = EXCLUDED.media_url, updated_at = EXCLUDED.updated_at, duplicates = EXCLUDED.duplicates;

    INSERT INTO proceedings
    SELECT * FROM jsonb_populate_recordset(NULL::proceedings, p->'proceedings')
    ON CONFLICT (proceeding_id) DO UPDATE SET
        subject_case_id = EXCLUDED.subject_case_id, unit = EXCLUDED.unit, status = EXCLUDED.status,
        outcome = EXCLUDED.outcome, points = EXCLUDED.points, opened_at = EXCLUDED.opened_at,
        explanation_due_at = EXCLUDED.explanation_due_at, decided_at = EXCLUDED.decided_at,
        version = EXCLUDED.version;

    INSERT INTO unit_facts (event_id, kind, unit_id, case_id, at, value)
    SELECT f.event_id, f.kind, f.unit_id, f.case_id, f.at, f.value
    FROM jsonb_populate_recordset(NULL::unit_facts, p->'facts') f
    ON CONFLICT DO NOTHING;

    -- The notices go to units of this database: filed in their inboxes here, and written to the outbox as delivered
    -- (what the separate delivery call did after the append until migration 0015, in one call instead of two).
    WITH notes AS (SELECT * FROM jsonb_populate_recordset(NULL::outbox, p->'notes')),
    sent AS (
        INSERT INTO outbox (notification_id, case_id, event_id, recipient, kind, text, attempts, delivered_at)
        SELECT n.notification_id, n.case_id, n.event_id, n.recipient, n.kind, n.text, 1, clock_timestamp()
        FROM notes n
        ON CONFLICT DO NOTHING
    )
    INSERT INTO inbox (notification_id, unit_id, case_id, kind, text)
    SELECT n.notification_id, n.recipient, n.case_id, n.kind, n.text FROM notes n
    ON CONFLICT DO NOTHING;

    PERFORM pg_advisory_xact_lock(7310425002);
    -- One recording time for the whole append, never before the last event's: the record's clock only goes on.
    SELECT x.position, x.recorded_at INTO last_event FROM events x ORDER BY x.position DESC LIMIT 1;
    base_ := coalesce(last_event.position, 0);
    at_ := greatest(clock_timestamp(), last_event.recorded_at);
    -- Each stream's events come in version order, one stream after another (store/append.py builds them so).
    FOR ev IN
        SELECT n.case_id, n.hash, n.ordinality AS ord,
               (SELECT e.seal FROM events e WHERE e.case_id = n.case_id AND e.version = n.version - 1) AS head_seal
        FROM jsonb_populate_recordset(NULL::events, p->'events') WITH ORDINALITY AS n
        ORDER BY n.ordinality
    LOOP
        IF stream_ IS DISTINCT FROM ev.case_id THEN
            prev_ := coalesce(ev.head_seal, repeat('0', 64));
            stream_ := ev.case_id;
        END IF;
        prev_ := rectify_seal(prev_, base_ + ev.ord, at_, ev.hash);
        seals_[ev.ord] := prev_;
    END LOOP;
    RETURN QUERY
        WITH written AS (
        INSERT INTO events AS e (position, case_id, version, event_id, type, body, actor_unit, actor_role,
                                 occurred_at, recorded_at, causation_id, correlation_id, schema_version, prev_hash,
                                 hash, seal)
        SELECT base_ + n.ordinality, n.case_id, n.version, n.event_id,
               n.type, n.body, n.actor_unit, n.actor_role, n.occurred_at, at_, n.causation_id, n.correlation_id,
               n.schema_version, n.prev_hash, n.hash, seals_[n.ordinality]
        FROM jsonb_populate_recordset(NULL::events, p->'events') WITH ORDINALITY AS n
        RETURNING e.case_id, e.version, e.event_id, e.position, e.hash)
        SELECT w.case_id, w.version, w.event_id, w.position, w.hash, NULL::jsonb, false FROM written w;
END $$;
