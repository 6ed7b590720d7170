import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { getJson, newKey, postCharge, VALID_CHARGE } from '../support/http.ts';
import { type LocalApi, startLocalApi } from '../support/local-api.ts';

const CLIENTS_CLI = fileURLToPath(new URL('../../scripts/clients.ts', import.meta.url));
const CACHE_SECONDS = 1;

let db: TestDatabase;
let api: LocalApi;

/** `npm run clients -- ARGS` against the test database. */
function clients(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLIENTS_CLI, ...args],
      { timeout: 30_000, env: { ...process.env, DATABASE_URL: db.url } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function issued(...args: string[]): Promise<{ keyId: string; secret: string }> {
  const run = await clients(...args);
  expect(run.code, run.stderr).toBe(0);
  const secret = /secret \(shown once; only its hash is stored\): (\S+)/.exec(run.stdout)?.[1];
  const keyId = /key (\w+)/.exec(run.stdout)?.[1];
  if (!secret || !keyId) throw new Error(`no secret in: ${run.stdout}`);
  return { keyId, secret };
}

beforeAll(async () => {
  db = await createTestDatabase();
  // A short authorizer cache, so "refused within the cache TTL" is quick to show.
  api = await startLocalApi(db.url, { LOCAL_AUTHORIZER_CACHE_SECONDS: String(CACHE_SECONDS) });
});
afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

describe('client identity from secret keys, through rotation and revocation', () => {
  it('keeps a charge one charge when the key is rotated between a request and its retry, then refuses the revoked key', async () => {
    const first = await issued('create', 'acme');
    expect(first.secret).toMatch(/^payk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    const key = newKey();

    const charged = await postCharge(api.url, { apiKey: first.secret, idempotencyKey: key });
    expect(charged.status).toBe(201);
    const chargeId = String(charged.json().id);

    const rotated = await issued('rotate', 'acme', '--overlap', '3600');
    const retry = await postCharge(api.url, { apiKey: rotated.secret, idempotencyKey: key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.json().id).toBe(chargeId);
    // Within the overlap both secrets work, and both see the client's charge.
    expect((await getJson(api.url, `/charges/${chargeId}`, first.secret)).status).toBe(200);
    expect((await getJson(api.url, `/charges/${chargeId}`, rotated.secret)).status).toBe(200);
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n FROM charges WHERE idempotency_key = $1',
      [key],
    );
    expect(rows[0].n).toBe(1);

    const revoked = await clients('revoke', '--key-id', first.keyId);
    expect(revoked.code, revoked.stderr).toBe(0);
    await sleep(CACHE_SECONDS * 1000 + 200);
    const refused = await getJson(api.url, `/charges/${chargeId}`, first.secret);
    expect(refused.status).toBe(403);
    expect(refused.json().type).toBe('/problems/forbidden');
    expect((await getJson(api.url, `/charges/${chargeId}`, rotated.secret)).status).toBe(200);
  });

  it('refuses the old secret once a rotation overlap has ended', async () => {
    const old = await issued('create', 'overlap-ends');
    const current = await issued('rotate', 'overlap-ends', '--overlap', '0');
    await sleep(CACHE_SECONDS * 1000 + 200);
    expect(
      (await postCharge(api.url, { apiKey: old.secret, idempotencyKey: newKey() })).status,
    ).toBe(403);
    expect(
      (await postCharge(api.url, { apiKey: current.secret, idempotencyKey: newKey() })).status,
    ).toBe(201);
  });

  it('never lets client A read or replay client B’s charge', async () => {
    const a = await issued('create', 'client-alpha');
    const b = await issued('create', 'client-beta');
    const key = newKey();
    const ofA = await postCharge(api.url, { apiKey: a.secret, idempotencyKey: key });
    expect(ofA.status).toBe(201);
    const idOfA = String(ofA.json().id);

    expect((await getJson(api.url, `/charges/${idOfA}`, b.secret)).status).toBe(404);
    // The same key and body from B is B's own operation, not a replay of A's charge.
    const ofB = await postCharge(api.url, { apiKey: b.secret, idempotencyKey: key });
    expect(ofB.status).toBe(201);
    expect(ofB.headers.get('idempotent-replayed')).toBeNull();
    expect(ofB.json().id).not.toBe(idOfA);
    const { rows } = await db.pool.query(
      'SELECT client_id FROM charges WHERE idempotency_key = $1 ORDER BY client_id',
      [key],
    );
    expect(rows.map((row) => row.client_id)).toEqual(['client-alpha', 'client-beta']);
  });

  it('refuses a forged secret that names a real key id', async () => {
    const real = await issued('create', 'forgery-target');
    const forged = `payk_${real.keyId}.${'A'.repeat(43)}`;
    const answer = await postCharge(api.url, { apiKey: forged, idempotencyKey: newKey() });
    expect(answer.status).toBe(403);
    expect(
      (await postCharge(api.url, { apiKey: real.secret, idempotencyKey: newKey() })).status,
    ).toBe(201);
  });

  it('stores only hashes: no column of the key tables holds a secret', async () => {
    const created = await issued('create', 'hash-only');
    const { rows } = await db.pool.query(
      `SELECT to_jsonb(k) AS key, to_jsonb(c) AS client
         FROM api_keys k JOIN api_clients c USING (client_id) WHERE k.key_id = $1`,
      [created.keyId],
    );
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows[0]);
    const [, secretPart] = created.secret.split('.');
    expect(stored).not.toContain(created.secret);
    expect(stored).not.toContain(secretPart);
    const { rows: hashes } = await db.pool.query(
      'SELECT secret_hash FROM api_keys WHERE key_id = $1',
      [created.keyId],
    );
    expect(hashes[0].secret_hash).toEqual(createHash('sha256').update(created.secret).digest());
    // And list shows keys, never secrets or hashes.
    const listed = await clients('list');
    expect(listed.stdout).toContain(created.keyId);
    expect(listed.stdout).not.toContain(secretPart);
  });

  it('answers a malformed command with a readable error, no stack trace', async () => {
    for (const args of [
      ['rotate', 'no-such-client'],
      ['create', 'bad id!'],
      ['revoke'],
      ['frobnicate'],
    ]) {
      const run = await clients(...args);
      expect(run.code, args.join(' ')).not.toBe(0);
      expect(run.stderr).toMatch(/^clients: /);
      expect(run.stderr).not.toMatch(/^\s+at /m);
    }
  });

  it('still seeds LOCAL_API_KEYS dev keys, idempotently, as their own clients', async () => {
    // startLocalApi seeds key-client-a:client-a; a second start seeds it again.
    const again = await startLocalApi(db.url);
    try {
      const answer = await postCharge(again.url, {
        apiKey: 'key-client-a',
        idempotencyKey: newKey(),
        body: VALID_CHARGE,
      });
      expect(answer.status).toBe(201);
      const { rows } = await db.pool.query(
        `SELECT client_id, count(*)::int AS n FROM api_keys WHERE key_id LIKE 'seed_%' GROUP BY client_id ORDER BY client_id`,
      );
      expect(rows).toEqual([
        { client_id: 'client-a', n: 1 },
        { client_id: 'client-b', n: 1 },
      ]);
    } finally {
      await again.stop();
    }
  });
});
