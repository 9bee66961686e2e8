-- Step 2 of moving to Citus (docs/operations.md, Citus), on the coordinator, once db/tenant_keys.sql has
-- run: tenants copied to every node, and the tenant's tables distributed by tenant_id into one
-- co-location group, each after the tables its foreign keys reference. A tenant's rows then all
-- live on one shard of each table, on the same node.
--
-- One transaction: it applies whole or not at all (psql -f runs it statement by statement, and
-- a file that stopped halfway would leave some tables distributed and the others local). Citus
-- runs these calls in one transaction block when each of them works over one connection per
-- node (multi_shard_modify_mode 'sequential'). With the coordinator in Citus's metadata, Citus
-- would turn the tables that reference the reference table `tenants` into Citus local tables,
-- which then cannot reference the distributed ones: enable_local_reference_table_foreign_keys off
-- keeps them plain until each is distributed. Both settings last for this transaction only.
--
-- The only statements of the move the test suite does not run (it runs on stock PostgreSQL): it
-- parses them with PostgreSQL's own parser and checks the tables, the column and the co-location
-- (tests/test_citus_migration.py).

CREATE EXTENSION IF NOT EXISTS citus;
BEGIN;
SET LOCAL citus.enable_local_reference_table_foreign_keys = off;
SET LOCAL citus.multi_shard_modify_mode TO 'sequential';
SELECT create_reference_table('tenants');
SELECT create_distributed_table('users', 'tenant_id');
SELECT create_distributed_table('tasks', 'tenant_id', colocate_with => 'users');
SELECT create_distributed_table('sessions', 'tenant_id', colocate_with => 'users');
SELECT create_distributed_table('recordings', 'tenant_id', colocate_with => 'users');
SELECT create_distributed_table('procedures', 'tenant_id', colocate_with => 'users');
SELECT create_distributed_table('session_summaries', 'tenant_id', colocate_with => 'users');
COMMIT;
