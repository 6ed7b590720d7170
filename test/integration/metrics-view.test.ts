import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientMetrics } from '../../client/index.ts';
import { type RunningMetricsView, startMetricsView } from '../../scripts/local/metrics-view.ts';
import { type MetricsReading, readMetrics } from '../../scripts/prove/prometheus-text.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { newKey, postCharge } from '../support/http.ts';
import { CLIENT_A, startLocalApi } from '../support/local-api.ts';
import { startNpmStart } from '../support/npm-start.ts';
import { waitFor } from '../support/pipeline.ts';

describe('the metrics view behind the local API gateway', () => {
  let db: TestDatabase;
  let view: RunningMetricsView;
  let apiUrl: string;
  let stopApi: () => Promise<void>;

  beforeAll(async () => {
    db = await createTestDatabase();
    view = await startMetricsView();
    const api = await startLocalApi(
      db.url,
      { METRICS_VIEW_URL: view.url },
      { onLine: (line) => view.view.observeLine(line) },
    );
    apiUrl = api.url;
    stopApi = api.stop;
  });
  afterAll(async () => {
    await stopApi?.();
    await view?.close();
    await db?.drop();
  });

  it('serves the handlers’ EMF metrics as Prometheus text on GET /metrics, without an API key', async () => {
    const key = newKey();
    expect(
      (await postCharge(apiUrl, { apiKey: CLIENT_A.apiKey, idempotencyKey: key })).status,
    ).toBe(201);
    expect(
      (await postCharge(apiUrl, { apiKey: CLIENT_A.apiKey, idempotencyKey: key })).status,
    ).toBe(201);
    const changed = { amount: 1, currency: 'EUR', customerId: 'cus_1' };
    expect(
      (await postCharge(apiUrl, { apiKey: CLIENT_A.apiKey, idempotencyKey: key, body: changed }))
        .status,
    ).toBe(422);

    const response = await fetch(`${apiUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    await waitFor('the three outcomes counted', async () => {
      const reading = await readMetrics(`${apiUrl}/metrics`);
      const outcomes = reading.by('idempotency_key_total', 'outcome');
      return outcomes.new === 1 && outcomes.replay === 1 && outcomes.mismatch === 1;
    });
    expect((await readMetrics(`${apiUrl}/metrics`)).value('charge_created_total')).toBe(1);
  });

  it('takes a client’s metrics on POST /metrics/client and serves the dashboard page', async () => {
    const metrics = new ClientMetrics();
    metrics.recordAttempt(1);
    metrics.recordAttempt(2);
    metrics.recordAttempt(3);
    metrics.observeRetryDelay(0.3);
    const pushed = await fetch(`${apiUrl}/metrics/client?source=test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(metrics.snapshot()),
    });
    expect(pushed.status).toBe(204);
    const reading = await readMetrics(`${apiUrl}/metrics`);
    expect(reading.by('retry_attempt_total', 'attempt')).toMatchObject({ '1': 1, '2': 1, '3': 1 });
    expect(reading.value('retry_delay_seconds_count')).toBe(1);

    const bad = await fetch(`${apiUrl}/metrics/client`, { method: 'POST', body: '{"nope":1}' });
    expect(bad.status).toBe(400);

    const page = await fetch(`${apiUrl}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    for (const metric of [
      'idempotency_key_total',
      'retry_attempt_total',
      'retry_delay_seconds',
      'outbox_lag_seconds',
      'dead_letter_queue_depth',
      'http_request_outcome',
      'ledger_applied_total',
    ]) {
      expect(html).toContain(metric);
    }
    expect(html).not.toMatch(/<script[^>]+src=|https?:\/\/(?!127\.0\.0\.1|www\.w3\.org)/);
    const history = (await (await fetch(`${apiUrl}/metrics/history`)).json()) as {
      points: unknown[];
    };
    expect(history.points.length).toBeGreaterThan(0);
  });

  it('keeps the API key check on the API routes', async () => {
    expect((await fetch(`${apiUrl}/charges/x`)).status).toBe(401);
  });
});

describe('npm start', () => {
  it('serves /metrics and /dashboard on the API port, fed by the API, relay and consumer', async () => {
    const stack = await startNpmStart({ LOCAL_API_KEYS: 'k:c' });
    try {
      const { url } = stack;
      expect(stack.output.join('\n')).toContain(`${url}/dashboard`);
      expect((await postCharge(url, { apiKey: 'k', idempotencyKey: newKey() })).status).toBe(201);
      await waitFor('the charge reached the ledger in the metrics', async () => {
        const reading: MetricsReading = await readMetrics(`${url}/metrics`);
        return (
          reading.value('charge_created_total') === 1 &&
          reading.value('relay_published_total') === 1 &&
          reading.value('ledger_applied_total') === 1
        );
      });
      expect((await fetch(`${url}/dashboard`)).status).toBe(200);
    } finally {
      stack.child.kill('SIGINT');
      expect(await stack.exited).toBe(0);
    }
  });
});
