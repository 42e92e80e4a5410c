-- Staff accounts for the web pages (web/): who signs in, for which unit and role. Only an argon2 hash of the
-- password is kept. `session_generation` is in every session cookie; disabling an account or resetting its
-- password raises it, which ends every session signed before.
CREATE TABLE staff_users (
    name                 text        PRIMARY KEY,
    unit_id              text        NOT NULL,
    role                 text        NOT NULL CHECK (role IN ('dispatcher', 'unit', 'inspector', 'leader', 'auditor')),
    password_hash        text        NOT NULL,
    session_generation   integer     NOT NULL DEFAULT 1,
    disabled_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    password_changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Every sign-in attempt, kept: success or failure, the account as typed, the address, why it failed.
CREATE TABLE staff_signins (
    signin_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    name       text        NOT NULL,
    address    text        NOT NULL,
    ok         boolean     NOT NULL,
    reason     text        NOT NULL
);
CREATE INDEX staff_signins_name_at_idx ON staff_signins (name, at DESC);

-- Failed sign-ins counted per key ('account:NAME', 'address:IP') in a window, and the lock they led to.
-- Here, not in a process, so every replica of the web server sees the same counts.
CREATE TABLE staff_signin_throttle (
    key           text        PRIMARY KEY,
    failures      integer     NOT NULL,
    window_start  timestamptz NOT NULL,
    locked_until  timestamptz
);

-- Password hashes and sign-in records are no auditor's business through the read-only role.
REVOKE ALL ON staff_users FROM rectify_auditor;
REVOKE ALL ON staff_signin_throttle FROM rectify_auditor;

-- The web's case pages are keyset pages on (opened_at, case_id), newest first: an index in exactly that key.
CREATE INDEX cases_opened_key_idx ON cases (opened_at, case_id);
