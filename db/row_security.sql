-- Row-level security for the gateway's reads: the second wall behind every statement's own
-- tenant_id filter. Applied by `sessions-gateway init-db` on PostgreSQL; idempotent.
--
-- The gateway sets sessions_gateway.tenant_id to each request's tenant (on the session of a lone
-- statement's connection, or SET LOCAL in its read-only transaction), so a role these policies
-- apply to reads only that tenant's rows, and nothing at all while the setting is unset.
-- `tenant_id = current_setting(...)` beside a statement's own `tenant_id = $1` is checked once per
-- statement (PostgreSQL derives a one-time filter from the two equalities), never once per row.
-- (Batches of live subscriptions' reads have policies of their own, for a role of their own:
-- db/live_batches.sql.)
--
-- Policies are for SELECT only. Superusers, roles with BYPASSRLS and the tables' owner (the
-- pipeline, which writes them) are not subject to them; the gateway connects as a role that
-- owns nothing and may only SELECT (`init-db --grant-select-to ROLE`, docs/operations.md).

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON users;
CREATE POLICY gateway_tenant_isolation ON users FOR SELECT
    USING (tenant_id = current_setting('sessions_gateway.tenant_id', true));

ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON tasks;
CREATE POLICY gateway_tenant_isolation ON tasks FOR SELECT
    USING (tenant_id = current_setting('sessions_gateway.tenant_id', true));

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON sessions;
CREATE POLICY gateway_tenant_isolation ON sessions FOR SELECT
    USING (tenant_id = current_setting('sessions_gateway.tenant_id', true));

ALTER TABLE recordings ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON recordings;
CREATE POLICY gateway_tenant_isolation ON recordings FOR SELECT
    USING (tenant_id = current_setting('sessions_gateway.tenant_id', true));

ALTER TABLE procedures ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON procedures;
CREATE POLICY gateway_tenant_isolation ON procedures FOR SELECT
    USING (tenant_id = current_setting('sessions_gateway.tenant_id', true));

ALTER TABLE session_summaries ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON session_summaries;
CREATE POLICY gateway_tenant_isolation ON session_summaries FOR SELECT
    USING (tenant_id = current_setting('sessions_gateway.tenant_id', true));
