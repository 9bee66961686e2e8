-- Functions the gateway's indexes use, created by `sessions-gateway init-db` on PostgreSQL before
-- the indexes (db/indexes.py), where missing.
--
-- gw_duration_key: the sessions list's DURATION_DESC sort key (the recorded duration, else whole
-- seconds from start to completion, else -1), indexed by gw_sessions_duration_key. It is LEAKPROOF
-- (it never raises: infinite timestamps have no duration, seconds are clamped to an integer), so
-- that under row-level security a keyset condition on it may still seek the index. SET search_path
-- keeps it from being inlined into the expression it computes, which is not leakproof. Declaring
-- LEAKPROOF takes a superuser: without one, init-db creates it without the word and warns that
-- pages deep in that order are then read by scanning.
CREATE FUNCTION gw_duration_key(duration_seconds integer, started_at timestamptz, completed_at timestamptz)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE LEAKPROOF
SET search_path = pg_catalog
AS $$
SELECT COALESCE(
    duration_seconds,
    CASE WHEN isfinite(started_at) AND isfinite(completed_at) THEN
        CAST(LEAST(GREATEST(trunc(EXTRACT(EPOCH FROM (completed_at - started_at))), -2147483648), 2147483647) AS integer)
    END,
    -1)
$$
