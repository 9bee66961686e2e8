-- Live subscriptions' batches: one statement reads the cohorts of many tenants (db/batch.py), each
-- cohort's reads pinned by the statement to the cohort's own tenant. Row-level security, the second
-- wall, then has to let the statement see the batch's tenants, and only them; and the policy that
-- does so must not apply to a request's statements, which read one tenant (an `= ANY (...)` beside
-- the one-tenant policy would be checked once per row).
--
-- So the batch reads as a role of its own, sessions_gateway_live (NOLOGIN), which the gateway's
-- role is a member of without inheriting it: the gateway runs `SET ROLE sessions_gateway_live`
-- for a batch's statement and `RESET ROLE` for a request's, and the policies below apply to the
-- batch alone, OR-ed with the one-tenant policies (whose setting a batch leaves empty). Applied by
-- `sessions-gateway init-db --grant-select-to ROLE` as the tables' owner, once the role exists;
-- idempotent. {role} is the gateway's role.

GRANT SELECT ON users, tasks, sessions, recordings, procedures, session_summaries TO sessions_gateway_live;

DROP POLICY IF EXISTS gateway_live_batches ON users;
CREATE POLICY gateway_live_batches ON users FOR SELECT TO sessions_gateway_live
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));

DROP POLICY IF EXISTS gateway_live_batches ON tasks;
CREATE POLICY gateway_live_batches ON tasks FOR SELECT TO sessions_gateway_live
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));

DROP POLICY IF EXISTS gateway_live_batches ON sessions;
CREATE POLICY gateway_live_batches ON sessions FOR SELECT TO sessions_gateway_live
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));

DROP POLICY IF EXISTS gateway_live_batches ON recordings;
CREATE POLICY gateway_live_batches ON recordings FOR SELECT TO sessions_gateway_live
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));

DROP POLICY IF EXISTS gateway_live_batches ON procedures;
CREATE POLICY gateway_live_batches ON procedures FOR SELECT TO sessions_gateway_live
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));

DROP POLICY IF EXISTS gateway_live_batches ON session_summaries;
CREATE POLICY gateway_live_batches ON session_summaries FOR SELECT TO sessions_gateway_live
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));

-- The gateway's role may become sessions_gateway_live, and never inherits it: a request's
-- statements stay under the one-tenant policies alone. (NOINHERIT first: on PostgreSQL 16 and
-- later, a membership granted then does not inherit either.)
ALTER ROLE {role} NOINHERIT;
GRANT sessions_gateway_live TO {role};
