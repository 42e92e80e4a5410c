-- Notifications written in the same transaction as the events that cause them (the outbox),
-- and the units' inboxes they are delivered to, at least once.
CREATE TABLE outbox (
    notification_id  text PRIMARY KEY,
    case_id          text        NOT NULL,
    event_id         text        NOT NULL,
    recipient        text        NOT NULL,
    kind             text        NOT NULL,
    text             text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts         integer     NOT NULL DEFAULT 0,
    delivered_at     timestamptz
);
CREATE INDEX outbox_undelivered_idx ON outbox (case_id) WHERE delivered_at IS NULL;

CREATE TABLE inbox (
    notification_id  text PRIMARY KEY,
    unit_id          text        NOT NULL,
    case_id          text        NOT NULL,
    kind             text        NOT NULL,
    text             text        NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    read_at          timestamptz
);
CREATE INDEX inbox_unit_idx ON inbox (unit_id, received_at DESC);
