import type { Charge, ChargeCommand } from '../domain/charge.ts';
import type { Queryable } from './database.ts';

interface ChargeRow {
  id: string;
  client_id: string;
  idempotency_key: string;
  request_fingerprint: string;
  customer_id: string;
  amount: string;
  currency: string;
  description: string | null;
  created_at: Date;
}

const CHARGE_COLUMNS =
  'id, client_id, idempotency_key, request_fingerprint, customer_id, amount, currency, description, created_at';

/**
 * The money write, one statement and so one transaction: the charge row and the outbox
 * event announcing it commit together or not at all. The unique (client_id,
 * idempotency_key) constraint makes a second insert for the same key a no-op, whatever
 * happened to the idempotency record in between (a crash after this commit, an expired
 * record); the caller then gets the existing charge back with `created: false`.
 */
const RECORD_CHARGE_SQL = `
WITH inserted AS (
  INSERT INTO charges (client_id, idempotency_key, request_fingerprint, customer_id, amount, currency, description)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT ON CONSTRAINT charges_client_key_unique DO NOTHING
  RETURNING ${CHARGE_COLUMNS}
), staged_event AS (
  INSERT INTO outbox (aggregate_id, event_type, payload)
  SELECT customer_id, 'charge.created', jsonb_build_object(
    'chargeId', id, 'clientId', client_id, 'customerId', customer_id,
    'amount', amount, 'currency', currency, 'createdAt', created_at)
  FROM inserted
)
SELECT ${CHARGE_COLUMNS} FROM inserted`;

/**
 * Records the charge for `command` exactly once per (client, idempotency key).
 * @returns the charge, and whether this call created it (false: it already existed)
 */
export async function recordCharge(
  db: Queryable,
  command: ChargeCommand,
): Promise<{ charge: Charge; created: boolean }> {
  const { request } = command;
  const inserted = await db.query<ChargeRow>(RECORD_CHARGE_SQL, [
    command.clientId,
    command.idempotencyKey,
    command.fingerprint,
    request.customerId,
    request.amount,
    request.currency,
    request.description ?? null,
  ]);
  const row = inserted.rows[0];
  if (row) return { charge: toCharge(row), created: true };

  const existing = await db.query<ChargeRow>(
    `SELECT ${CHARGE_COLUMNS} FROM charges WHERE client_id = $1 AND idempotency_key = $2`,
    [command.clientId, command.idempotencyKey],
  );
  const existingRow = existing.rows[0];
  if (!existingRow) {
    // ON CONFLICT DO NOTHING only skips when a committed row exists, so it must be visible now.
    throw new Error('charge insert conflicted but no existing charge was found');
  }
  return { charge: toCharge(existingRow), created: false };
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The charge `chargeId` if it belongs to `clientId`; undefined for anyone else's or none. */
export async function findClientCharge(
  db: Queryable,
  clientId: string,
  chargeId: string,
): Promise<Charge | undefined> {
  if (!UUID_PATTERN.test(chargeId)) return undefined;
  const result = await db.query<ChargeRow>(
    `SELECT ${CHARGE_COLUMNS} FROM charges WHERE id = $1 AND client_id = $2`,
    [chargeId, clientId],
  );
  const row = result.rows[0];
  return row ? toCharge(row) : undefined;
}

function toCharge(row: ChargeRow): Charge {
  return {
    id: row.id,
    clientId: row.client_id,
    idempotencyKey: row.idempotency_key,
    requestFingerprint: row.request_fingerprint,
    customerId: row.customer_id,
    amount: Number(row.amount),
    currency: row.currency,
    description: row.description,
    createdAt: row.created_at,
  };
}
