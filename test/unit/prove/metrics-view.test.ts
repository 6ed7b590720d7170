import { describe, expect, it } from 'vitest';
import { ClientMetrics } from '../../../client/index.ts';
import {
  MetricsView,
  mergeClientSnapshots,
  parseClientSnapshot,
  seriesKey,
} from '../../../scripts/local/metrics-view.ts';
import { MetricsReading, parsePrometheusText } from '../../../scripts/prove/prometheus-text.ts';

/** One EMF document as Powertools' singleMetric prints it. */
function emf(name: string, value: number, dimensions: Record<string, string> = {}): string {
  return JSON.stringify({
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: 'EffectivelyOncePayments',
          Dimensions: [['service', ...Object.keys(dimensions)]],
          Metrics: [{ Name: name, Unit: 'Count' }],
        },
      ],
    },
    service: 'payments',
    ...dimensions,
    [name]: value,
  });
}

describe('the local metrics view', () => {
  it('renders the EMF counters summed, gauges as last seen, and the SPEC series from zero', () => {
    const view = new MetricsView();
    expect(view.observeLine(emf('idempotency_key_total', 1, { outcome: 'new' }))).toBe(true);
    view.observeLine(emf('idempotency_key_total', 1, { outcome: 'new' }));
    view.observeLine(emf('idempotency_key_total', 1, { outcome: 'mismatch' }));
    view.observeLine(emf('outbox_lag_seconds', 12.5));
    view.observeLine(emf('outbox_lag_seconds', 3));
    expect(view.observeLine('{"level":"INFO","message":"not a metric"}')).toBe(false);
    view.recordRestart('relay');

    const text = view.render();
    expect(text).toContain('# TYPE idempotency_key_total counter');
    expect(text).toContain('# TYPE outbox_lag_seconds gauge');
    const reading = MetricsReading.parse(text);
    expect(reading.by('idempotency_key_total', 'outcome')).toEqual({
      new: 2,
      replay: 0,
      in_flight: 0,
      mismatch: 1,
    });
    expect(reading.value('outbox_lag_seconds')).toBe(3);
    expect(reading.value('ledger_applied_total')).toBe(0);
    expect(reading.value('dead_letter_queue_depth')).toBe(0);
    expect(reading.value('local_process_restarts_total', { service: 'relay' })).toBe(1);
    expect(reading.value('local_process_restarts_total', { service: 'api' })).toBe(0);
  });

  it('renders pushed client metrics, summed over clients, with the histogram buckets', () => {
    const view = new MetricsView();
    const first = new ClientMetrics();
    first.recordAttempt(1);
    first.recordAttempt(3);
    first.recordOutcome('2xx');
    first.observeRetryDelay(0.2);
    const second = new ClientMetrics();
    second.recordAttempt(5);
    second.recordOutcome('timeout');
    second.observeRetryDelay(2);
    view.setClientMetrics('a', first.snapshot());
    view.setClientMetrics('b', second.snapshot());
    // A newer snapshot of the same client replaces its older one.
    view.setClientMetrics('a', first.snapshot());

    const reading = MetricsReading.parse(view.render());
    expect(reading.by('retry_attempt_total', 'attempt')).toEqual({
      '1': 1,
      '2': 0,
      '3': 1,
      '4+': 1,
    });
    expect(reading.value('http_request_outcome', { class: 'timeout' })).toBe(1);
    expect(reading.value('retry_delay_seconds_count')).toBe(2);
    expect(reading.value('retry_delay_seconds_bucket', { le: '0.25' })).toBe(1);
    expect(reading.value('retry_delay_seconds_bucket', { le: '2.5' })).toBe(2);
    expect(reading.value('retry_delay_seconds_bucket', { le: '+Inf' })).toBe(2);
  });

  it("keeps the charge function's attempt and outcome counts beside the clients' ones", () => {
    const view = new MetricsView();
    view.observeLine(emf('retry_attempt_total', 1, { attempt: '3' }));
    view.observeLine(emf('retry_attempt_total', 1, { attempt: '3' }));
    view.observeLine(emf('http_request_outcome', 1, { class: '2xx' }));
    const metrics = new ClientMetrics();
    metrics.recordAttempt(3);
    metrics.recordOutcome('2xx');
    metrics.recordOutcome('timeout');
    view.setClientMetrics('a', metrics.snapshot());

    const series = view.series();
    expect(series[seriesKey('retry_attempt_total', { attempt: '3' })]).toBe(2);
    expect(series[seriesKey('retry_attempt_total', { attempt: '3', source: 'client' })]).toBe(1);
    expect(series[seriesKey('http_request_outcome', { class: '2xx' })]).toBe(1);
    expect(series[seriesKey('http_request_outcome', { class: '2xx', source: 'client' })]).toBe(1);
    expect(series[seriesKey('http_request_outcome', { class: 'timeout', source: 'client' })]).toBe(
      1,
    );
  });

  it('refuses a pushed snapshot that is not one', () => {
    expect(() => parseClientSnapshot({ retry_attempt_total: {} })).toThrow(/http_request_outcome/);
    expect(() =>
      parseClientSnapshot({ ...new ClientMetrics().snapshot(), retry_budget_exhausted_total: -1 }),
    ).toThrow(/non-negative/);
    const valid = new ClientMetrics().snapshot();
    const bucket = { le: 0.5, count: Number.NaN };
    expect(() =>
      parseClientSnapshot({
        ...valid,
        retry_delay_seconds: { ...valid.retry_delay_seconds, buckets: [bucket] },
      }),
    ).toThrow(/^retry_delay_seconds\.buckets\.0\.count: must be a non-negative number$/);
    expect(() => parseClientSnapshot('[]')).toThrow(/must be an object/);
    const withExtraLabel = parseClientSnapshot({
      ...valid,
      retry_attempt_total: { '1': 2, '99': 5 },
    });
    expect(withExtraLabel.retry_attempt_total).toEqual({ '1': 2, '2': 0, '3': 0, '4+': 0 });
    const recorded = new ClientMetrics();
    recorded.recordAttempt(2);
    recorded.recordOutcome('network');
    recorded.observeRetryDelay(0.3);
    const snapshot = recorded.snapshot();
    expect(parseClientSnapshot(JSON.parse(JSON.stringify(snapshot)))).toEqual(snapshot);
  });

  it('merges client snapshots by adding every counter and histogram bucket', () => {
    const first = new ClientMetrics();
    first.recordAttempt(1);
    first.recordAttempt(2);
    first.recordOutcome('5xx');
    first.recordBudgetExhausted();
    first.observeRetryDelay(0.3);
    const second = new ClientMetrics();
    second.recordAttempt(2);
    second.recordOutcome('5xx');
    second.recordOutcome('2xx');
    second.observeRetryDelay(4);

    const merged = mergeClientSnapshots([first.snapshot(), second.snapshot()]);
    expect(merged.retry_attempt_total).toEqual({ '1': 1, '2': 2, '3': 0, '4+': 0 });
    expect(merged.http_request_outcome).toMatchObject({ '2xx': 1, '5xx': 2, network: 0 });
    expect(merged.retry_budget_exhausted_total).toBe(1);
    expect(merged.retry_delay_seconds.count).toBe(2);
    expect(merged.retry_delay_seconds.sum).toBeCloseTo(4.3);
    const bucket = (le: number) =>
      merged.retry_delay_seconds.buckets.find((candidate) => candidate.le === le)?.count;
    expect(bucket(0.25)).toBe(0);
    expect(bucket(0.5)).toBe(1);
    expect(bucket(5)).toBe(2);
  });

  it('keys series as the exposition writes them, escaping label values', () => {
    expect(seriesKey('a_total')).toBe('a_total');
    expect(seriesKey('a_total', { z: '1', b: 'say "hi"\n' })).toBe(
      'a_total{b="say \\"hi\\"\\n",z="1"}',
    );
    expect(
      parsePrometheusText('a_total{b="say \\"hi\\"\\n",z="1"} 4\n# comment\nbroken line'),
    ).toEqual([{ name: 'a_total', labels: { b: 'say "hi"\n', z: '1' }, value: 4 }]);
  });

  it('samples its series into a history for the dashboard', () => {
    const view = new MetricsView();
    view.startSampling();
    view.stopSampling();
    const [point] = view.history();
    expect(point?.values.charge_created_total).toBe(0);
    expect(point?.values['idempotency_key_total{outcome="new"}']).toBe(0);
  });
});
