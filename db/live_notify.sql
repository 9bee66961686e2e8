-- Live subscriptions' notices (optional): after each write to the six tables the gateway reads,
-- a NOTIFY on the channel sessions_gateway_live naming the tenant written to. A gateway that finds
-- these triggers at start refetches a tenant's live subscriptions when a notice names that tenant,
-- instead of every GATEWAY_LIVE_INTERVAL_MS (docs/operations.md, "Live subscriptions").
--
-- For the database's administrator: run it once as the tables' owner, in their schema (it is
-- idempotent: run it again after an upgrade), e.g. psql -v ON_ERROR_STOP=1 -f live_notify.sql.
-- To remove it: DROP FUNCTION gw_live_notify() CASCADE; (the gateways poll again at their next start).
--
-- One trigger per table and kind of write, FOR EACH STATEMENT: a bulk write of a thousand rows of
-- one tenant sends one notice, not a thousand (the rows it changed are read from its transition
-- tables). PostgreSQL delivers the notices when the transaction commits, one per distinct tenant
-- (it drops a notice equal to one the transaction already sent), and none when it rolls back.
-- TRUNCATE sends none (it names no tenant): the gateway's slow safety refresh catches it.

CREATE OR REPLACE FUNCTION gw_live_notify()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('sessions_gateway_live', tenant_id) FROM (SELECT DISTINCT tenant_id FROM gw_new) AS written;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('sessions_gateway_live', tenant_id) FROM (SELECT DISTINCT tenant_id FROM gw_old) AS written;
    ELSE  -- an UPDATE: the tenants before and after (the same, unless a row moved)
        PERFORM pg_notify('sessions_gateway_live', tenant_id)
        FROM (SELECT tenant_id FROM gw_new UNION SELECT tenant_id FROM gw_old) AS written;
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    written text;
BEGIN
    PERFORM set_config('client_min_messages', 'warning', true);  -- no notice for each trigger not there yet
    FOREACH written IN ARRAY ARRAY['users', 'tasks', 'sessions', 'recordings', 'procedures', 'session_summaries']
    LOOP
        -- A trigger with transition tables serves one kind of write: three per table.
        EXECUTE format('DROP TRIGGER IF EXISTS gw_live_notify_insert ON %I', written);
        EXECUTE format('DROP TRIGGER IF EXISTS gw_live_notify_update ON %I', written);
        EXECUTE format('DROP TRIGGER IF EXISTS gw_live_notify_delete ON %I', written);
        EXECUTE format(
            'CREATE TRIGGER gw_live_notify_insert AFTER INSERT ON %I '
            'REFERENCING NEW TABLE AS gw_new FOR EACH STATEMENT EXECUTE FUNCTION gw_live_notify()',
            written
        );
        EXECUTE format(
            'CREATE TRIGGER gw_live_notify_update AFTER UPDATE ON %I '
            'REFERENCING OLD TABLE AS gw_old NEW TABLE AS gw_new FOR EACH STATEMENT EXECUTE FUNCTION gw_live_notify()',
            written
        );
        EXECUTE format(
            'CREATE TRIGGER gw_live_notify_delete AFTER DELETE ON %I '
            'REFERENCING OLD TABLE AS gw_old FOR EACH STATEMENT EXECUTE FUNCTION gw_live_notify()',
            written
        );
    END LOOP;
END
$$;
