import { describe, expect, it } from 'vitest';
import {
  type Charge,
  type ChargeCommand,
  fingerprintOf,
} from '../../../functions/domain/charge.ts';
import { IdempotencyKeyReusedError, NotFoundError } from '../../../functions/domain/errors.ts';
import { readClientCharge } from '../../../functions/use-cases/read-client-charge.ts';
import {
  type ChargeRecorder,
  recordChargeOnce,
} from '../../../functions/use-cases/record-charge-once.ts';

function commandFor(body: ChargeCommand['request'], key = 'key-1'): ChargeCommand {
  return {
    clientId: 'client-a',
    idempotencyKey: key,
    request: body,
    fingerprint: fingerprintOf(body),
  };
}

function chargeOf(command: ChargeCommand, id = 'ch_1'): Charge {
  return {
    id,
    clientId: command.clientId,
    idempotencyKey: command.idempotencyKey,
    requestFingerprint: command.fingerprint,
    customerId: command.request.customerId,
    amount: command.request.amount,
    currency: command.request.currency,
    description: command.request.description ?? null,
    createdAt: new Date('2026-01-01T00:00:00Z'),
  };
}

/** The store's contract in memory: one charge per (client, key), whatever the body. */
function chargesInMemory(): ChargeRecorder & { rows: Map<string, Charge> } {
  const rows = new Map<string, Charge>();
  return {
    rows,
    async recordCharge(command) {
      const key = `${command.clientId}/${command.idempotencyKey}`;
      const existing = rows.get(key);
      if (existing) return { charge: existing, created: false };
      const charge = chargeOf(command, `ch_${rows.size + 1}`);
      rows.set(key, charge);
      return { charge, created: true };
    },
  };
}

const BODY = { amount: 1000, currency: 'EUR', customerId: 'cus_1' } as const;

describe('recording a charge once', () => {
  it('creates the charge the first time, and says so to the commit hook', async () => {
    const store = chargesInMemory();
    const commits: boolean[] = [];
    const result = await recordChargeOnce(store, commandFor(BODY), (created) =>
      commits.push(created),
    );
    expect(result).toMatchObject({ replayed: false, charge: { id: 'ch_1', amount: 1000 } });
    expect(commits).toEqual([true]);
  });

  it('answers the same key and body with the same charge, as a replay', async () => {
    const store = chargesInMemory();
    await recordChargeOnce(store, commandFor(BODY));
    const commits: boolean[] = [];
    const again = await recordChargeOnce(store, commandFor({ ...BODY }), (created) =>
      commits.push(created),
    );
    expect(again).toMatchObject({ replayed: true, charge: { id: 'ch_1' } });
    expect(commits).toEqual([false]);
    expect(store.rows.size).toBe(1);
  });

  it('refuses the same key with another body once the record expired: 422, nothing charged', async () => {
    const store = chargesInMemory();
    await recordChargeOnce(store, commandFor(BODY));
    await expect(recordChargeOnce(store, commandFor({ ...BODY, amount: 9999 }))).rejects.toThrow(
      IdempotencyKeyReusedError,
    );
    expect([...store.rows.values()].map((charge) => charge.amount)).toEqual([1000]);
  });
});

describe('reading a client charge', () => {
  const charge = chargeOf(commandFor(BODY));
  const store = {
    findClientCharge: async (clientId: string, chargeId: string) =>
      clientId === charge.clientId && chargeId === charge.id ? charge : undefined,
    ledgerApplicationsOf: async (chargeId: string) => (chargeId === charge.id ? 1 : 0),
  };

  it("returns the client's charge with its ledger state", async () => {
    expect(await readClientCharge(store, 'client-a', 'ch_1')).toEqual({
      charge,
      ledger: { applied: true, applications: 1 },
    });
  });

  it("answers another client's charge exactly as a missing one", async () => {
    await expect(readClientCharge(store, 'client-b', 'ch_1')).rejects.toThrow(NotFoundError);
    await expect(readClientCharge(store, 'client-a', 'ch_9')).rejects.toThrow(NotFoundError);
  });
});
