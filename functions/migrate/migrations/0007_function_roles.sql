-- Up Migration

-- One least-privilege login role per function kind. Functions connect as their own role
-- (each has its own secret in AWS; the migrate function sets the password from it); only
-- migrate connects as the owner, which owns every table and runs the DDL. A compromised
-- or buggy function can therefore touch only the rows its job needs: the charge function
-- cannot write the ledger, the consumer cannot create charges, nothing but housekeeping
-- deletes.
--
-- Roles are cluster-wide and survive DROP DATABASE, so they are created only if absent.
-- They have LOGIN but no password here: a role without a password cannot log in with one
-- until migrate (or an operator) sets it.
--
-- NEW TABLES MUST BE GRANTED: a migration that adds a table grants it, in the same file, to
-- the roles that use it. There are deliberately no ALTER DEFAULT PRIVILEGES: a new table is
-- visible to no function until someone decides which may touch it (reconciliation's own
-- tables, for example, are granted by the migration that adds them).
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY[
    'payments_charge', 'payments_get_charge', 'payments_relay', 'payments_consumer',
    'payments_authorizer', 'payments_client_admin', 'payments_reconciliation',
    'payments_housekeeping'
  ] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
      EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', role_name);
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), role_name);
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', role_name);
  END LOOP;
END $$;

-- POST /charge: claim / complete / release idempotency records (INSERT … ON CONFLICT DO
-- UPDATE, UPDATE, DELETE of its own claim), the charge row and its outbox event.
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_records TO payments_charge;
GRANT SELECT, INSERT ON charges TO payments_charge;
GRANT INSERT ON outbox TO payments_charge;
-- The Redis tier's namespace (database identity and epoch); bumped by an operator as owner.
GRANT SELECT ON idempotency_cache_namespace TO payments_charge;

-- API REQUEST authorizer: resolves a presented key (by hash) to its client.
GRANT SELECT ON api_clients, api_keys TO payments_authorizer;

-- The clients function (operator-invoked): creates clients, issues, rotates and revokes keys.
GRANT SELECT, INSERT, UPDATE ON api_clients, api_keys TO payments_client_admin;

-- GET /charges/{id} (and GET /health, which runs SELECT 1 with the same role).
GRANT SELECT ON charges TO payments_get_charge;
GRANT USAGE ON SCHEMA ledger TO payments_get_charge;
GRANT SELECT ON ledger.postings TO payments_get_charge;

-- Relay: reads unpublished outbox rows, marks them published (queue and bus), under the
-- relay lease it takes, renews and releases.
GRANT SELECT, UPDATE ON outbox TO payments_relay;
GRANT SELECT, INSERT, UPDATE ON relay_lease TO payments_relay;

-- Consumer: the inbox row and the postings, in one statement; the balance trigger reads them.
GRANT USAGE ON SCHEMA ledger TO payments_consumer;
GRANT SELECT, INSERT ON ledger.inbox, ledger.postings TO payments_consumer;

-- Reconciliation: finds charges the ledger has not applied, marks their events unpublished
-- so the relay sends them again.
GRANT SELECT ON charges TO payments_reconciliation;
GRANT USAGE ON SCHEMA ledger TO payments_reconciliation;
GRANT SELECT ON ledger.inbox, ledger.postings TO payments_reconciliation;
GRANT SELECT, UPDATE ON outbox TO payments_reconciliation;

-- Housekeeping: deletes expired idempotency records, old published outbox rows and old inbox
-- rows. SELECT … FOR UPDATE SKIP LOCKED (so batches never wait on live rows) needs UPDATE on
-- at least one column: it gets it on the key column only, which it could already remove.
GRANT SELECT, DELETE ON idempotency_records, outbox TO payments_housekeeping;
GRANT UPDATE (id) ON idempotency_records TO payments_housekeeping;
GRANT UPDATE (event_id) ON outbox TO payments_housekeeping;
GRANT USAGE ON SCHEMA ledger TO payments_housekeeping;
GRANT SELECT, DELETE ON ledger.inbox TO payments_housekeeping;
GRANT UPDATE (event_id) ON ledger.inbox TO payments_housekeeping;

-- Down Migration
-- The roles stay: they are cluster-wide and other databases on the server may use them.
REVOKE ALL ON idempotency_records, charges, outbox, idempotency_cache_namespace,
  api_clients, api_keys, relay_lease, ledger.inbox, ledger.postings FROM
  payments_charge, payments_get_charge, payments_relay, payments_consumer,
  payments_authorizer, payments_client_admin, payments_reconciliation, payments_housekeeping;
REVOKE ALL ON SCHEMA ledger FROM
  payments_charge, payments_get_charge, payments_relay, payments_consumer,
  payments_authorizer, payments_client_admin, payments_reconciliation, payments_housekeeping;
