-- The canary's tenant: proof, at start and in /readyz, that the row-level security policies of
-- db/row_security.sql see the tenant setting each request sets (on Citus too, where the workers
-- evaluate them on their shards). Applied by `sessions-gateway init-db` on PostgreSQL, after the
-- policies; idempotent. {schema} is the tables' schema.
--
-- gw_canary_tenant() answers the tenant_id of one live session, read as the function's owner (the
-- tables' owner, not subject to the policies), or NULL when there is none. The gateway then reads,
-- as its own role and exactly as a request does, one live session of that tenant: no row means the
-- policies do not see the setting, and the gateway is not ready (docs/operations.md, "Row-level security and the gateway's role").
-- Only the role `init-db --grant-select-to ROLE` names may call it: it tells one tenant's id.
CREATE OR REPLACE FUNCTION gw_canary_tenant()
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, {schema}, pg_temp
AS $$
SELECT tenant_id FROM sessions WHERE deleted_at IS NULL LIMIT 1
$$;

REVOKE ALL ON FUNCTION gw_canary_tenant() FROM PUBLIC;
