-- The API's per-caller rate limit, shared by every API replica: one token bucket per caller (an API key's id,
-- or an address), refilled and spent in one statement under the row's lock (store/rate_limits.py), so two
-- replicas together allow what one would. Rows idle for an hour are pruned; the table holds no secret.
CREATE UNLOGGED TABLE api_rate_buckets (
    caller      text             PRIMARY KEY,
    tokens      double precision NOT NULL,
    allowed     boolean          NOT NULL,
    updated_at  timestamptz      NOT NULL
);
CREATE INDEX api_rate_buckets_idle_idx ON api_rate_buckets (updated_at);

-- Refill `caller`'s bucket by the time since its last request (`rate` a second, at most `burst`) and spend a
-- token if there is one. Returns 0 when the request may go, else the seconds until a token is there.
CREATE FUNCTION rectify_rate_take(who text, rate double precision, burst double precision)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    now_ timestamptz := clock_timestamp();
    have double precision;
BEGIN
    INSERT INTO api_rate_buckets (caller, tokens, allowed, updated_at) VALUES (who, burst, true, now_)
    ON CONFLICT (caller) DO NOTHING;
    SELECT least(burst, b.tokens + greatest(extract(epoch FROM now_ - b.updated_at), 0) * rate) INTO have
    FROM api_rate_buckets b WHERE b.caller = who FOR UPDATE;
    UPDATE api_rate_buckets
    SET tokens = CASE WHEN have >= 1 THEN have - 1 ELSE have END, allowed = have >= 1, updated_at = now_
    WHERE caller = who;
    RETURN CASE WHEN have >= 1 THEN 0.0 ELSE (1 - have) / rate END;
END $$;
