-- Indicators per unit (考核指标): countable facts each event yields (domain.indicators.facts_for),
-- written in the same transaction as the events and rebuildable from them. Periods are sums over `at`.
CREATE TABLE unit_facts (
    event_id  text             NOT NULL,
    kind      text             NOT NULL,
    unit_id   text             NOT NULL,
    case_id   text             NOT NULL,
    at        timestamptz      NOT NULL,
    value     double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, kind, unit_id)
);
CREATE INDEX unit_facts_at_idx ON unit_facts (at);
CREATE INDEX unit_facts_unit_at_idx ON unit_facts (unit_id, at);

-- Supervision bulletins (督查通报 第N期): one number per week, given once and never reused. The checkpoint
-- printed in a bulletin is fixed when the number is first given, so regenerating it gives the same bytes.
CREATE TABLE bulletins (
    week               text        PRIMARY KEY,
    number             integer     NOT NULL UNIQUE CHECK (number >= 1),
    checkpoint_number  integer,
    first_issued_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
