-- The record: an append-only event table with a SHA-256 hash chain per case.
CREATE TABLE events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         text        NOT NULL,
    version         integer     NOT NULL CHECK (version >= 1),
    event_id        text        NOT NULL UNIQUE,
    type            text        NOT NULL,
    body            jsonb       NOT NULL,
    actor_unit      text        NOT NULL,
    actor_role      text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    causation_id    text,
    correlation_id  text,
    schema_version  integer     NOT NULL,
    prev_hash       text        NOT NULL,
    hash            text        NOT NULL,
    UNIQUE (case_id, version)
);
CREATE INDEX events_type_idx ON events (type);
CREATE INDEX events_occurred_at_idx ON events (occurred_at);

CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER events_no_update_delete
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();
