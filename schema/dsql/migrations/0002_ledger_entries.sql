-- Up Migration

-- The ledger without a trigger, a PL/pgSQL function or an identity column. The PostgreSQL
-- schema stores each posting as its own row and checks at commit, with a deferred constraint
-- trigger, that an event's postings balance. Here one row IS a balanced double entry: it
-- debits one account and credits another by the same positive amount in the same currency,
-- so an unbalanced ledger cannot be written at all, and constraints every engine enforces
-- (CHECK, PRIMARY KEY) are all it takes. The event id is the primary key: the row doubles as
-- the consumer's inbox, so applying an event twice is a no-op without a second table.
CREATE SCHEMA ledger;

CREATE TABLE ledger.entries (
  event_id       uuid PRIMARY KEY,
  charge_id      uuid NOT NULL,
  debit_account  text NOT NULL,
  credit_account text NOT NULL,
  amount         bigint NOT NULL CHECK (amount > 0),
  currency       char(3) NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (debit_account <> credit_account)
);
CREATE INDEX entries_charge_id_idx ON ledger.entries (charge_id);

-- The postings as the PostgreSQL schema stores them, for readers (GET /charges/{id} counts
-- debit postings per charge): each entry is one debit and one credit.
CREATE VIEW ledger.postings AS
  SELECT event_id, charge_id, debit_account AS account, 'debit'::text AS direction,
         amount, currency, created_at
    FROM ledger.entries
  UNION ALL
  SELECT event_id, charge_id, credit_account, 'credit'::text, amount, currency, created_at
    FROM ledger.entries;

-- Down Migration
DROP SCHEMA ledger CASCADE;
