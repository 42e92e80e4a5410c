-- One round trip per append: the store sends the whole write (events with their hashes, read-model rows,
-- indicator facts, notifications) as one JSON document and this function does what the client used to do
-- in nine statements, in the one implicit transaction of the call.
--
-- Hashes are still computed by the client (domain/canonical.py, the one hash function); this function
-- checks that each stream is still at the version and hash the client built on, writes, and hands out
-- gap-free positions under the append lock exactly as before.
--
-- Answers, one row per stored event:
--   * `duplicate = false` for the events it wrote;
--   * `duplicate = true` with the stored body when a stream has moved on and some of the event ids are
--     already stored (a retried append): nothing is written, the client compares contents.
-- Raises SQLSTATE RX409 with DETAIL '{"case_id", "version", "hash"}' when a stream has moved on otherwise.
CREATE FUNCTION rectify_append(p jsonb)
RETURNS TABLE (case_id text, version integer, event_id text, "position" bigint, hash text, body jsonb,
               duplicate boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    stream record;
    head record;
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

    INSERT INTO outbox (notification_id, case_id, event_id, recipient, kind, text)
    SELECT n.notification_id, n.case_id, n.event_id, n.recipient, n.kind, n.text
    FROM jsonb_populate_recordset(NULL::outbox, p->'notes') n
    ON CONFLICT DO NOTHING;

    PERFORM pg_advisory_xact_lock(7310425002);
    RETURN QUERY
        WITH written AS (
        INSERT INTO events AS e (position, case_id, version, event_id, type, body, actor_unit, actor_role,
                                 occurred_at, causation_id, correlation_id, schema_version, prev_hash, hash)
        SELECT (SELECT coalesce(max(x.position), 0) FROM events x) + n.ordinality, n.case_id, n.version, n.event_id,
               n.type, n.body, n.actor_unit, n.actor_role, n.occurred_at, n.causation_id, n.correlation_id,
               n.schema_version, n.prev_hash, n.hash
        FROM jsonb_populate_recordset(NULL::events, p->'events') WITH ORDINALITY AS n
        RETURNING e.case_id, e.version, e.event_id, e.position, e.hash)
        SELECT w.case_id, w.version, w.event_id, w.position, w.hash, NULL::jsonb, false FROM written w;
END $$;
