-- Row-level security for the gateway's reads: the second wall behind every statement's own
-- tenant_id filter. Applied by `sessions-gateway init-db` on PostgreSQL; idempotent.
--
-- The gateway sets, for each request (on the connection's session, or SET LOCAL in its
-- read-only transaction),
--   sessions_gateway.tenant_ids = '{"<the token's tenant>"}'
-- so a role these policies apply to reads only that tenant's rows, and nothing at all while the
-- setting is unset or empty. A batch of live subscriptions' reads (db/batch.py) sets the tenants
-- of its cohorts; its statement pins each cohort's reads to that cohort's own tenant.
--
-- `tenant_id = ANY (<the setting as an array>)` is an index condition beside the statement's own
-- `tenant_id = $1`: PostgreSQL reads the setting once per scan, never once per row.
-- (sessions_gateway.tenant_id, which policies of earlier releases read, is set too, empty for a
-- batch, so that gateways of this release serve behind those until init-db replaces them.)
--
-- Policies are for SELECT only. Superusers, roles with BYPASSRLS and the tables' owner (the
-- pipeline, which writes them) are not subject to them; the gateway connects as a role that
-- owns nothing and may only SELECT (`init-db --grant-select-to ROLE`, docs/operations.md).

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON users;
CREATE POLICY gateway_tenant_isolation ON users FOR SELECT
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));

ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON tasks;
CREATE POLICY gateway_tenant_isolation ON tasks FOR SELECT
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON sessions;
CREATE POLICY gateway_tenant_isolation ON sessions FOR SELECT
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));

ALTER TABLE recordings ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON recordings;
CREATE POLICY gateway_tenant_isolation ON recordings FOR SELECT
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));

ALTER TABLE procedures ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON procedures;
CREATE POLICY gateway_tenant_isolation ON procedures FOR SELECT
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));

ALTER TABLE session_summaries ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS gateway_tenant_isolation ON session_summaries;
CREATE POLICY gateway_tenant_isolation ON session_summaries FOR SELECT
    USING (tenant_id = ANY (NULLIF(current_setting('sessions_gateway.tenant_ids', true), '')::text[]));
