-- Reports filed on the public pages (随手拍, web/snap.py): the reporter's private follow link. Only the SHA-256 of
-- the link's token is kept, so this table cannot hand a link out; the report key ties it to the intake's
-- idempotency key (a retried form finds its row). Contacts stay in reporter_contacts (0007).
CREATE TABLE report_follow (
    token_sha256 text        PRIMARY KEY,
    report_key   text        NOT NULL UNIQUE,
    case_id      text        NOT NULL,
    filed_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX report_follow_case_idx ON report_follow (case_id);
-- Who follows a report is the reporter's business, not the auditors'.
REVOKE ALL ON report_follow FROM rectify_auditor;
