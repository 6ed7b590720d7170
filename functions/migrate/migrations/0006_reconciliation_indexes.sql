-- Up Migration

-- Reconciliation looks at charges of a bounded recent window (created_at) and finds each
-- unapplied charge's outbox event by the charge id in its payload.
CREATE INDEX charges_created_at_idx ON charges (created_at);
CREATE INDEX outbox_charge_id_idx ON outbox ((payload->>'chargeId'));

-- Down Migration
DROP INDEX outbox_charge_id_idx;
DROP INDEX charges_created_at_idx;
