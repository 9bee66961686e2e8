-- Step 2 of moving to Citus (README, Deployment), on the coordinator, once db/tenant_keys.sql has
-- run: tenants copied to every node, and the tenant's tables distributed by tenant_id into one
-- co-location group, each after the tables its foreign keys reference. A tenant's rows then all
-- live on one shard of each table, on the same node.
--
-- The only statements of the move the test suite does not run (it runs on stock PostgreSQL): it
-- parses them with PostgreSQL's own parser and checks the tables, the column and the co-location
-- (tests/test_citus_migration.py).

CREATE EXTENSION IF NOT EXISTS citus;
SELECT create_reference_table('tenants');
SELECT create_distributed_table('users', 'tenant_id');
SELECT create_distributed_table('tasks', 'tenant_id', colocate_with => 'users');
SELECT create_distributed_table('sessions', 'tenant_id', colocate_with => 'users');
SELECT create_distributed_table('recordings', 'tenant_id', colocate_with => 'users');
SELECT create_distributed_table('procedures', 'tenant_id', colocate_with => 'users');
SELECT create_distributed_table('session_summaries', 'tenant_id', colocate_with => 'users');
