-- The HTTP API's own records (see store/api_records.py and store/idempotency.py).
--
-- 1. Idempotency records (IETF httpapi idempotency-key draft): a key is bound to its caller (the scope:
--    an API key id, or `sdk` for commands sent through the SDK), to the operation and to a fingerprint
--    of the request body. While the first request runs, the record is `running` under a lease; then it
--    holds the response, which a replay gets back unchanged.
CREATE TABLE idempotency_records (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    operation    text        NOT NULL,
    fingerprint  text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('running', 'done')),
    lease_until  timestamptz,
    status       integer,
    media_type   text,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    PRIMARY KEY (scope, key)
);

-- 2. Who uploaded each photo: evidence named by a command must have been uploaded by the acting unit
--    (or the case's lead unit). The bytes stay in the evidence folder, addressed by their SHA-256.
CREATE TABLE evidence_uploads (
    sha256       text        NOT NULL,
    unit_id      text        NOT NULL,
    key_id       text,
    size         bigint      NOT NULL,
    media_type   text        NOT NULL,
    uploaded_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (sha256, unit_id)
);

-- 3. Which cases name a photo (reports and submissions carry `evidence`): who may read it follows the case.
CREATE INDEX events_evidence_idx ON events USING gin ((body -> 'evidence') jsonb_path_ops);

-- Request bodies and uploaders are operational records, not the audit trail.
REVOKE ALL ON idempotency_records FROM rectify_auditor;
