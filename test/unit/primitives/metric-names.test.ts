import { describe, expect, expectTypeOf, it } from 'vitest';
import type { countMetric } from '../../../functions/commons/powertools.ts';
import {
  GAUGE_METRICS,
  HTTP_OUTCOME_CLASSES,
  type MetricLabels,
  MetricName,
  SERVER_OUTCOME_CLASSES,
} from '../../../primitives/metric-names.ts';

describe('the metric contract', () => {
  it('names each metric once, and its gauges and labelled metrics among them', () => {
    const names = Object.values(MetricName);
    expect(new Set(names).size).toBe(names.length);
    for (const gauge of GAUGE_METRICS) expect(names).toContain(gauge);
    const labelled: Record<keyof MetricLabels, true> = {
      idempotency_key_total: true,
      retry_attempt_total: true,
      http_request_outcome: true,
      idempotency_cache_total: true,
      housekeeping_deleted_total: true,
    };
    for (const name of Object.keys(labelled)) expect(names).toContain(name);
  });

  it('keeps the server-side outcome classes among the client-side ones', () => {
    for (const cls of SERVER_OUTCOME_CLASSES) expect(HTTP_OUTCOME_CLASSES).toContain(cls);
  });

  it('makes a label value outside the contract a type error where metrics are counted', () => {
    type CountKeys = typeof countMetric<'idempotency_key_total'>;
    type CountCharges = typeof countMetric<'charge_created_total'>;
    expectTypeOf<Parameters<CountKeys>[1]>().toEqualTypeOf<{
      outcome: 'new' | 'replay' | 'in_flight' | 'mismatch';
    }>();
    expectTypeOf<Parameters<CountCharges>[1]>().toEqualTypeOf<Record<string, never> | undefined>();
  });
});
