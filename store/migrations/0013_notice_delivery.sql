-- Notices to the units' own channels (the city's channels.toml: webhooks, 企业微信 / 钉钉 robots, e-mail),
-- besides their inboxes. Each outbox notice goes to each channel that takes it, at least once; every try
-- is kept with its outcome, so an auditor can show that a unit was told, and when (docs/notices.md).

-- What the notice is about (domain.notifications.NoticeFacts: case, category, place, deadline, rung), written
-- by the relay when it makes the notice's deliveries, from the case after the event's batch, and kept: a
-- later try words the notice from these facts. NULL for a notice no channel takes (its unit has none).
-- `channels_at`: when the relay made the notice's deliveries, one per channel that takes it (NULL: not yet).
-- Notices written before this migration were told through the inboxes only: they are not sent now.
ALTER TABLE outbox ADD COLUMN facts jsonb, ADD COLUMN channels_at timestamptz;
UPDATE outbox SET channels_at = created_at;
CREATE INDEX outbox_channels_pending_idx ON outbox (created_at) WHERE channels_at IS NULL;

-- Wakes the relays (LISTEN rectify_notices) when an append writes notices: delivered at commit, once per
-- transaction however many rows, so a new notice goes within a round trip rather than at the next poll.
CREATE FUNCTION outbox_wake_relays() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM written) THEN
        PERFORM pg_notify('rectify_notices', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_wakes_relays
    AFTER INSERT ON outbox REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_wake_relays();

-- One row per (notice, channel): where its delivery stands. `next_at` is when it is due; a worker takes
-- due rows for `lease_until` (FOR UPDATE SKIP LOCKED, then committed), so a worker that dies mid-send
-- loses its lease and another sends again (the Idempotency-Key keeps that harmless where honoured).
CREATE TABLE notice_deliveries (
    notification_id  text        NOT NULL REFERENCES outbox (notification_id),
    channel_id       text        NOT NULL,
    state            text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    failures         integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    first_at         timestamptz,
    next_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    lease_until      timestamptz,
    leased_by        text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at     timestamptz,
    PRIMARY KEY (notification_id, channel_id),
    CHECK ((state = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX notice_deliveries_due_idx ON notice_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX notice_deliveries_channel_idx ON notice_deliveries (channel_id, state);

-- Every try, as it came back (channels.outcome.Attempt). Append-only, like the events.
CREATE TABLE notice_attempts (
    id               bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id  text             NOT NULL,
    channel_id       text             NOT NULL,
    outcome          text             NOT NULL CHECK (outcome IN ('delivered', 'retryable', 'permanent')),
    status           integer,
    reason           text             NOT NULL DEFAULT '',
    started_at       timestamptz      NOT NULL,
    elapsed_ms       double precision NOT NULL CHECK (elapsed_ms >= 0),
    worker           text,
    recorded_at      timestamptz      NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (notification_id, channel_id) REFERENCES notice_deliveries (notification_id, channel_id)
);
CREATE INDEX notice_attempts_delivery_idx ON notice_attempts (notification_id, channel_id, started_at);
CREATE TRIGGER notice_attempts_no_update_delete
    BEFORE UPDATE OR DELETE ON notice_attempts
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER notice_attempts_no_truncate
    BEFORE TRUNCATE ON notice_attempts
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Deliveries given up (channels.deliver.DeadLetter): `rectify notices failed` lists the rows not yet
-- retried; `rectify notices retry` stamps one retried and puts its delivery back to pending, afresh.
CREATE TABLE notice_dead_letters (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id  text        NOT NULL,
    channel_id       text        NOT NULL,
    reason           text        NOT NULL,
    attempts         integer     NOT NULL CHECK (attempts >= 0),
    failed_at        timestamptz NOT NULL,
    retried_at       timestamptz,
    retried_by       text,
    FOREIGN KEY (notification_id, channel_id) REFERENCES notice_deliveries (notification_id, channel_id)
);
CREATE INDEX notice_dead_letters_open_idx ON notice_dead_letters (failed_at) WHERE retried_at IS NULL;

-- One circuit per channel (channels.circuit.CircuitState), changed under its row lock by every worker.
CREATE TABLE channel_circuits (
    channel_id  text        PRIMARY KEY,
    state       text        NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
    failures    integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    opened_at   timestamptz,
    probe_at    timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (state = 'closed' OR opened_at IS NOT NULL),
    CHECK (state <> 'half_open' OR probe_at IS NOT NULL)
);
