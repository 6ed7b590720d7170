import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChargeClient, type ChargeResult } from '../../client/index.ts';
import { createFaultProxy, type FaultProxy } from '../../scripts/fault-proxy/fault-proxy.ts';
import type { SqsEndpoint } from '../../scripts/local/sqs.ts';
import { getJson } from '../support/http.ts';
import { CLIENT_A } from '../support/local-api.ts';
import { createPipeline, type Pipeline, startSqsEndpoint, waitFor } from '../support/pipeline.ts';

let endpoint: SqsEndpoint;
let pipeline: Pipeline;
let apiUrl: string;
let proxy: FaultProxy;

beforeAll(async () => {
  endpoint = await startSqsEndpoint();
  pipeline = await createPipeline(endpoint);
  apiUrl = (await pipeline.startApi()).url;
  await pipeline.startRelay();
  await pipeline.startConsumer();
  proxy = await createFaultProxy({ target: apiUrl });
});
afterAll(async () => {
  await proxy?.close();
  await pipeline?.stop();
  await endpoint?.stop();
});

describe('the retrying client against the real local stack', () => {
  it('turns lost responses into replays of the same charge, applied once by the ledger', async () => {
    const client = new ChargeClient({
      baseUrl: proxy.url,
      apiKey: CLIENT_A.apiKey,
      baseDelayMs: 20,
      capDelayMs: 200,
    });
    const results: ChargeResult[] = [];
    for (let i = 0; i < 5; i++) {
      // The server commits and answers; the proxy swallows the answer of the first attempt.
      proxy.setFaults({ lostResponse: { firstN: 1 } });
      results.push(
        await client.createCharge({ amount: 500 + i, currency: 'EUR', customerId: `cus_${i}` }),
      );
    }
    expect(proxy.stats.dropped).toBe(5);
    for (const result of results) {
      expect(result.status).toBe(201);
      expect(result.attempts).toBe(2);
      expect(result.replayed).toBe(true);
    }

    const ids = results.map((result) => String((result.body as { id: string }).id));
    const { rows } = await pipeline.db.pool.query('SELECT id FROM charges ORDER BY amount');
    expect(rows.map((row) => row.id)).toEqual(ids);
    await waitFor('ledger applied', async () => {
      const states = await Promise.all(
        ids.map((id) => getJson(apiUrl, `/charges/${id}`, CLIENT_A.apiKey)),
      );
      return states.every((state) => (state.json().ledger as { applied: boolean }).applied);
    });
    for (const id of ids) {
      expect((await getJson(apiUrl, `/charges/${id}`, CLIENT_A.apiKey)).json().ledger).toEqual({
        applied: true,
        applications: 1,
      });
    }
  });
});
