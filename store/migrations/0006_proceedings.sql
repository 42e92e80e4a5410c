-- Accountability proceedings (问责): their events live in `events` under stream ids 'acc-…'; this is
-- their list, written with the events and rebuildable from them.
CREATE TABLE proceedings (
    proceeding_id       text PRIMARY KEY,
    subject_case_id     text        NOT NULL,
    unit                text        NOT NULL,
    status              text        NOT NULL,
    outcome             text,
    points              double precision NOT NULL DEFAULT 0,
    opened_at           timestamptz NOT NULL,
    explanation_due_at  timestamptz NOT NULL,
    decided_at          timestamptz,
    version             integer     NOT NULL
);
CREATE INDEX proceedings_unit_idx ON proceedings (unit);
CREATE INDEX proceedings_case_idx ON proceedings (subject_case_id);
