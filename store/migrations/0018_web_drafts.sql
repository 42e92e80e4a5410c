-- What a person typed into a form on the web pages when their session had ended: kept until they sign in again
-- (as the same account) and the form is shown again with it, then removed. Never an action, only text.
CREATE TABLE web_drafts (
    draft_id    text        PRIMARY KEY,
    name        text        NOT NULL,
    case_id     text        NOT NULL,
    action      text        NOT NULL,
    fields      jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX web_drafts_created_idx ON web_drafts (created_at);

-- The units' notices, unread first: the inbox page reads them per unit in this order.
CREATE INDEX inbox_unit_unread_idx ON inbox (unit_id, (read_at IS NULL), received_at DESC);

-- What staff typed is no auditor's business through the read-only role.
REVOKE ALL ON web_drafts FROM rectify_auditor;
