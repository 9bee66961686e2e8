-- Step 1 of moving to Citus (docs/operations.md, Citus): the storage contract's keys, made per tenant.
--
-- Plain PostgreSQL, for the pipeline (the tables' owner) to run on its database as it is:
--   psql -v ON_ERROR_STOP=1 -f db/tenant_keys.sql
-- Citus wants the distribution column, tenant_id, in every primary key and unique constraint, and
-- in every foreign key between distributed tables; the contract keys each row by its id alone.
-- Afterwards each key is (tenant_id, id), or (tenant_id, session_id) for the tables keyed by
-- session, and each foreign key between a tenant's tables is (tenant_id, <x>_id): a row can no
-- longer point at another tenant's row, and an id need only be unique within its tenant. The
-- foreign keys to tenants stay (tenants becomes a reference table). Column names and types do not
-- change, and the gateway reads the same before and after (tests/test_citus_migration.py).
--
-- One transaction: it applies whole or not at all. It refuses data in which a row points at
-- another tenant's row (the new foreign keys would not hold): fix those rows first. It locks the
-- tables while it builds the new keys' indexes.
-- Step 2, on the Citus coordinator: db/citus.sql.

BEGIN;

-- The foreign keys on ids alone go first: the keys they rest on are replaced.
ALTER TABLE sessions DROP CONSTRAINT sessions_user_id_fkey, DROP CONSTRAINT sessions_task_id_fkey;
ALTER TABLE recordings DROP CONSTRAINT recordings_session_id_fkey;
ALTER TABLE procedures DROP CONSTRAINT procedures_session_id_fkey;
ALTER TABLE session_summaries DROP CONSTRAINT session_summaries_session_id_fkey;

-- Primary keys and the one unique constraint: tenant_id first.
ALTER TABLE users DROP CONSTRAINT users_pkey, ADD CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id);
ALTER TABLE tasks DROP CONSTRAINT tasks_pkey, ADD CONSTRAINT tasks_pkey PRIMARY KEY (tenant_id, id);
ALTER TABLE sessions DROP CONSTRAINT sessions_pkey, ADD CONSTRAINT sessions_pkey PRIMARY KEY (tenant_id, id);
ALTER TABLE recordings DROP CONSTRAINT recordings_pkey,
    ADD CONSTRAINT recordings_pkey PRIMARY KEY (tenant_id, session_id);
ALTER TABLE procedures DROP CONSTRAINT procedures_pkey,
    ADD CONSTRAINT procedures_pkey PRIMARY KEY (tenant_id, id),
    DROP CONSTRAINT procedures_session_id_position_key,
    ADD CONSTRAINT procedures_tenant_id_session_id_position_key UNIQUE (tenant_id, session_id, position);
ALTER TABLE session_summaries DROP CONSTRAINT session_summaries_pkey,
    ADD CONSTRAINT session_summaries_pkey PRIMARY KEY (tenant_id, session_id);

-- Foreign keys: to a row of the same tenant. (A null task_id is not checked, as before.)
ALTER TABLE sessions
    ADD CONSTRAINT sessions_tenant_id_user_id_fkey
        FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    ADD CONSTRAINT sessions_tenant_id_task_id_fkey
        FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id);
ALTER TABLE recordings ADD CONSTRAINT recordings_tenant_id_session_id_fkey
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id);
ALTER TABLE procedures ADD CONSTRAINT procedures_tenant_id_session_id_fkey
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id);
ALTER TABLE session_summaries ADD CONSTRAINT session_summaries_tenant_id_session_id_fkey
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id);

COMMIT;
