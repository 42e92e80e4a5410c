-- The HTTP API: keys per actor (only their SHA-256 is kept), and reporters' contact details, which
-- live here, outside the history, so they never reach events, exports, bulletins or public responses.
CREATE TABLE api_keys (
    key_id      text        PRIMARY KEY,
    secret_hash text        NOT NULL,
    unit_id     text        NOT NULL,
    role        text        NOT NULL,
    label       text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at  timestamptz
);

CREATE TABLE reporter_contacts (
    case_id     text        NOT NULL,
    report_key  text        PRIMARY KEY,
    contact     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Contact details are not for auditors' eyes either: they need the record, not the reporters.
REVOKE ALL ON reporter_contacts FROM rectify_auditor;
REVOKE ALL ON api_keys FROM rectify_auditor;

-- What Open311 responses and the duplicate check need from the case list.
ALTER TABLE cases
    ADD COLUMN lon double precision,
    ADD COLUMN lat double precision,
    ADD COLUMN address text,
    ADD COLUMN media_url text,
    ADD COLUMN updated_at timestamptz,
    ADD COLUMN duplicates integer NOT NULL DEFAULT 0;
CREATE INDEX cases_category_opened_idx ON cases (category, opened_at);
