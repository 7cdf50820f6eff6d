-- One owning role and two databases per service (oms_<svc> for `make run`, oms_<svc>_test for
-- `make test`). Generated from libs/registry.py by `make compose` (tools/compose.py): do not edit
-- by hand. Idempotent: docker-compose runs it once on an empty data directory
-- (/docker-entrypoint-initdb.d), deploy/local/postgres.sh runs it on every `ensure`.
-- PostgreSQL 15: ordinary roles cannot create tables in schema public unless they own the
-- database (public is owned by pg_database_owner), so each role OWNS its databases.
-- Run with psql (uses \gexec) as a superuser, connected to the postgres database.

\set ON_ERROR_STOP on

DO $$
DECLARE
    svc text;
BEGIN
    FOREACH svc IN ARRAY ARRAY['order_capture', 'inventory', 'orchestration', 'returns', 'notifications', 'insights'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'oms_' || svc) THEN
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', 'oms_' || svc, 'oms_' || svc);
        ELSE
            EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', 'oms_' || svc, 'oms_' || svc);
        END IF;
    END LOOP;
END
$$;

-- CREATE DATABASE cannot run inside a DO block (or a transaction): generate it and \gexec.
SELECT format('CREATE DATABASE %I OWNER %I', d.db, d.owner)
FROM (
    SELECT 'oms_' || svc || suffix AS db, 'oms_' || svc AS owner
    FROM unnest(ARRAY['order_capture', 'inventory', 'orchestration', 'returns', 'notifications', 'insights']) AS svc,
         unnest(ARRAY['', '_test']) AS suffix
) AS d
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d.db)
ORDER BY d.db
\gexec

-- Databases that already existed keep (or get back) the right owner.
SELECT format('ALTER DATABASE %I OWNER TO %I', d.db, d.owner)
FROM (
    SELECT 'oms_' || svc || suffix AS db, 'oms_' || svc AS owner
    FROM unnest(ARRAY['order_capture', 'inventory', 'orchestration', 'returns', 'notifications', 'insights']) AS svc,
         unnest(ARRAY['', '_test']) AS suffix
) AS d
ORDER BY d.db
\gexec
