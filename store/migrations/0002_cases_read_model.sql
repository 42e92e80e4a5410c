-- The case list read model: one row per case, written in the same transaction as its events,
-- and rebuildable from them at any time.
CREATE TABLE cases (
    case_id           text PRIMARY KEY,
    status            text        NOT NULL,
    category          text        NOT NULL,
    description       text        NOT NULL,
    channel           text        NOT NULL,
    lead_unit         text,
    territorial_unit  text,
    grid_id           text,
    road_chief        text,
    guarantee_unit    text,
    escalation_level  integer     NOT NULL,
    due_at            timestamptz,
    opened_at         timestamptz NOT NULL,
    closed_at         timestamptz,
    ended_at          timestamptz,
    rework_count      integer     NOT NULL,
    version           integer     NOT NULL
);
CREATE INDEX cases_status_idx ON cases (status);
CREATE INDEX cases_lead_unit_idx ON cases (lead_unit);
CREATE INDEX cases_category_idx ON cases (category);
CREATE INDEX cases_grid_idx ON cases (grid_id);
CREATE INDEX cases_opened_idx ON cases (opened_at DESC, case_id);
