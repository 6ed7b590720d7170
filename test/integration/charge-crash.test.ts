import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { newKey, postCharge } from '../support/http.ts';
import { CLIENT_A, startLocalApi } from '../support/local-api.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

/**
 * Long enough that the request right after the crash lands inside the dead invocation's
 * window however loaded the machine is: the API that answers it is started (and ready)
 * before the crash, so no restart has to finish inside the window.
 */
const IN_PROGRESS_WINDOW_SECONDS = 8;

describe('a crash between the charge commit and the idempotency record completion', () => {
  it('gives the retry the same charge, never a second one', async () => {
    const key = newKey();
    const windowEnv = { IDEMPOTENCY_IN_PROGRESS_SECONDS: String(IN_PROGRESS_WINDOW_SECONDS) };
    // Another execution environment of the function, already warm when the first one dies.
    const standby = await startLocalApi(db.url, windowEnv);
    const crashing = await startLocalApi(db.url, {
      ...windowEnv,
      FAILPOINTS: 'charge.after-commit=crash',
    });
    // The process is SIGKILLed after the charge commits: the client sees the connection die.
    await expect(
      postCharge(crashing.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key }),
    ).rejects.toThrow();
    expect(await crashing.service.exited).toBe('SIGKILL');

    const { rows: afterCrash } = await db.pool.query(
      `SELECT (SELECT count(*) FROM charges WHERE idempotency_key = $1)::int AS charges,
              (SELECT count(*) FROM idempotency_records WHERE status = 'INPROGRESS')::int AS in_progress`,
      [key],
    );
    expect(afterCrash[0]).toEqual({ charges: 1, in_progress: 1 });

    try {
      // While the dead invocation's window is open, its claim still stands.
      const early = await postCharge(standby.url, {
        apiKey: CLIENT_A.apiKey,
        idempotencyKey: key,
      });
      expect(early.status).toBe(409);
      expect(early.headers.get('retry-after')).toBe('1');

      // After the window the retry takes the claim over and finds the committed charge.
      let retry = early;
      for (let attempt = 0; attempt < 120 && retry.status === 409; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        retry = await postCharge(standby.url, { apiKey: CLIENT_A.apiKey, idempotencyKey: key });
      }
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');

      const { rows } = await db.pool.query('SELECT id FROM charges WHERE idempotency_key = $1', [
        key,
      ]);
      expect(rows).toEqual([{ id: retry.json().id }]);
      const { rows: events } = await db.pool.query(
        `SELECT count(*)::int AS n FROM outbox WHERE payload->>'chargeId' = $1`,
        [retry.json().id],
      );
      expect(events[0].n).toBe(1);

      // And from now on it is an ordinary replay of that response.
      const later = await postCharge(standby.url, {
        apiKey: CLIENT_A.apiKey,
        idempotencyKey: key,
      });
      expect(later.headers.get('idempotent-replayed')).toBe('true');
      expect(later.text).toBe(retry.text);
    } finally {
      await standby.stop();
    }
  });
});
