import { describe, expect, it } from 'vitest';
import { attemptLabel, ClientMetrics, outcomeClassOf } from '../../../client/metrics.ts';

describe('ClientMetrics', () => {
  it('labels attempts 1, 2, 3 and 4+', () => {
    expect([1, 2, 3, 4, 9].map(attemptLabel)).toEqual(['1', '2', '3', '4+', '4+']);
  });

  it('classes statuses by their first digit', () => {
    expect([201, 304, 422, 503].map(outcomeClassOf)).toEqual(['2xx', '3xx', '4xx', '5xx']);
  });

  it('counts attempts, outcomes and budget refusals, and keeps snapshots frozen in time', () => {
    const metrics = new ClientMetrics();
    for (const attempt of [1, 1, 2, 3, 4, 5]) metrics.recordAttempt(attempt);
    metrics.recordOutcome('2xx');
    metrics.recordOutcome('timeout');
    metrics.recordBudgetExhausted();
    const snapshot = metrics.snapshot();
    metrics.recordAttempt(1);
    expect(snapshot.retry_attempt_total).toEqual({ '1': 2, '2': 1, '3': 1, '4+': 2 });
    expect(snapshot.http_request_outcome).toMatchObject({ '2xx': 1, timeout: 1, '5xx': 0 });
    expect(snapshot.retry_budget_exhausted_total).toBe(1);
    expect(metrics.snapshot().retry_attempt_total['1']).toBe(3);
  });

  it('keeps retry delays in cumulative histogram buckets', () => {
    const metrics = new ClientMetrics();
    for (const seconds of [0, 0.004, 0.3, 0.3, 1.7, 120]) metrics.observeRetryDelay(seconds);
    const histogram = metrics.snapshot().retry_delay_seconds;
    const at = (le: number) => histogram.buckets.find((bucket) => bucket.le === le)?.count;
    expect(at(0.005)).toBe(2);
    expect(at(0.25)).toBe(2);
    expect(at(0.5)).toBe(4);
    expect(at(2.5)).toBe(5);
    expect(at(60)).toBe(5);
    expect(histogram.count).toBe(6);
    expect(histogram.sum).toBeCloseTo(122.304, 6);
  });

  it('renders Prometheus text with every series present from the start', () => {
    const metrics = new ClientMetrics();
    metrics.recordAttempt(2);
    metrics.observeRetryDelay(0.2);
    const text = metrics.render();
    expect(text).toContain('# TYPE retry_attempt_total counter\n');
    expect(text).toContain('retry_attempt_total{attempt="1"} 0\n');
    expect(text).toContain('retry_attempt_total{attempt="2"} 1\n');
    expect(text).toContain('retry_attempt_total{attempt="4+"} 0\n');
    expect(text).toContain('http_request_outcome{class="timeout"} 0\n');
    expect(text).toContain('retry_budget_exhausted_total 0\n');
    expect(text).toContain('# TYPE retry_delay_seconds histogram\n');
    expect(text).toContain('retry_delay_seconds_bucket{le="0.1"} 0\n');
    expect(text).toContain('retry_delay_seconds_bucket{le="0.25"} 1\n');
    expect(text).toContain('retry_delay_seconds_bucket{le="+Inf"} 1\n');
    expect(text).toContain('retry_delay_seconds_count 1\n');
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{\w+="[^"]+"\})? [\d.e+-]+)$/);
    }
  });
});
