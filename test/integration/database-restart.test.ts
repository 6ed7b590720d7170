import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../functions/store/database.ts';
import { startEmbeddedPostgres } from '../../scripts/local/embedded-postgres.ts';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack/stack.ts';
import { readMetrics } from '../../scripts/prove/prometheus-text.ts';
import { newKey, postCharge } from '../support/http.ts';
import { waitFor } from '../support/pipeline.ts';

describe('a PostgreSQL server that dies', () => {
  it('is started again on the same data directory and port, and a pool reconnects with every acknowledged commit there', async () => {
    const server = await startEmbeddedPostgres();
    const pool = createPool(server.adminUrl, { max: 3 });
    try {
      await pool.query('CREATE TABLE acknowledged (n int)');
      // Idle connections in the pool when the server dies, as in a function between requests.
      await Promise.all(
        [1, 2, 3].map((n) => pool.query('INSERT INTO acknowledged VALUES ($1)', [n])),
      );

      await server.kill();
      await server.ready();

      expect(server.restarts).toBe(1);
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM acknowledged');
      expect(rows[0].n).toBe(3);
    } finally {
      await pool.end();
      await server.stop();
    }
  });
});

describe('the local stack when its database is SIGKILLed', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({
      quiet: true,
      env: { LOCAL_RELAY_INTERVAL_MS: '100' },
      // A batch the consumer failed while the server was down comes back after 2 s, not 30.
      queue: { visibilityTimeoutSeconds: 2 },
    });
  });
  afterAll(() => stack?.stop());

  it('keeps serving without restarting the API, relay or consumer, and loses no charge it answered 201', async () => {
    const charge = async () => {
      const key = newKey();
      // What a client does across an outage: retry with the same key until it is answered.
      for (let attempt = 0; ; attempt++) {
        const answer = await postCharge(stack.apiUrl, {
          apiKey: 'local-dev-key',
          idempotencyKey: key,
        }).catch(() => undefined);
        if (answer?.status === 201) return String(answer.json().id);
        if (attempt > 100) throw new Error(`no 201 for ${key}: ${answer?.status}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    const before = await Promise.all(Array.from({ length: 5 }, charge));

    await stack.database.kill();
    await stack.database.ready();
    const after = await Promise.all(Array.from({ length: 5 }, charge));

    expect(stack.database.restarts).toBe(1);
    const restarts = (await readMetrics(`${stack.apiUrl}/metrics`)).by(
      'local_process_restarts_total',
      'service',
    );
    expect(restarts.postgres).toBe(1);
    const ids = [...before, ...after];
    await waitFor('every charge applied', async () => {
      const { rows } = await stack.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ledger.postings WHERE direction = 'debit' AND charge_id::text = ANY($1)`,
        [ids],
      );
      return rows[0]?.n === ids.length;
    });
    const { rows } = await stack.pool.query<{ id: string }>(
      'SELECT id::text FROM charges WHERE id::text = ANY($1)',
      [ids],
    );
    expect(rows.map((row) => row.id).sort()).toEqual([...ids].sort());
    for (const role of ['api', 'relay', 'consumer'] as const) {
      expect(stack.processes[role].restarts, role).toBe(0);
    }
  });
});
