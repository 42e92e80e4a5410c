-- Appends PostgreSQL refused for good (a value it cannot store: NUL, an untranslatable character, a value
-- too long). The command was refused and nothing was written; this is what `rectify doctor` counts and lists.
CREATE TABLE append_failures (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id   text        NOT NULL,
    activity    text        NOT NULL,
    command_id  text,
    error       text        NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
