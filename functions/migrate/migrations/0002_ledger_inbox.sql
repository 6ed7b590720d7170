-- Up Migration

-- The ledger: the money-moving side effect, owned by the consumer. Its own schema, so it could
-- move to its own database without touching the charge path.
CREATE SCHEMA ledger;

-- Inbox: one row per consumed event. The primary key is the consumer's dedup: a redelivered
-- or re-published event finds its row and changes nothing, however long after the broker's
-- own deduplication window it arrives.
CREATE TABLE ledger.inbox (
  event_id     uuid PRIMARY KEY,
  processed_at timestamptz NOT NULL DEFAULT now()
);

-- Double-entry postings: each application of a charge event writes one debit and one credit.
CREATE TABLE ledger.postings (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id   uuid NOT NULL,
  charge_id  uuid NOT NULL,
  account    text NOT NULL,
  direction  text NOT NULL CHECK (direction IN ('debit', 'credit')),
  amount     bigint NOT NULL CHECK (amount > 0),
  currency   char(3) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX postings_charge_id_idx ON ledger.postings (charge_id);
CREATE INDEX postings_event_id_idx ON ledger.postings (event_id);

-- Every event's postings must balance, per currency, when its transaction commits.
CREATE FUNCTION ledger.assert_event_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM ledger.postings WHERE event_id = NEW.event_id
    GROUP BY currency
    HAVING sum(CASE direction WHEN 'debit' THEN amount ELSE -amount END) <> 0
  ) THEN
    RAISE EXCEPTION 'ledger postings of event % do not balance', NEW.event_id;
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER postings_balanced
  AFTER INSERT ON ledger.postings DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ledger.assert_event_balanced();

-- Down Migration
DROP SCHEMA ledger CASCADE;
