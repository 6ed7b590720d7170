/**
 * The client half of the metrics view: snapshots pushed by retrying clients, validated (a zod
 * schema: anything else is refused with the path of the offending field) and summed.
 */
import * as z from 'zod';
import { type ClientMetricsSnapshot, RETRY_DELAY_BUCKETS_SECONDS } from '../../../client/index.ts';
import {
  RETRY_ATTEMPTS as ATTEMPT_LABELS,
  HTTP_OUTCOME_CLASSES as OUTCOME_CLASSES,
} from '../../../primitives/metric-names.ts';

const count = z
  .number({ error: 'must be a non-negative number' })
  .min(0, 'must be a non-negative number');
const countsBy = <K extends string>(labels: readonly K[]) =>
  z.object(
    Object.fromEntries(labels.map((label) => [label, count.default(0)])) as Record<
      K,
      z.ZodDefault<typeof count>
    >,
    { error: 'must be an object' },
  );

/** A pushed {@link ClientMetricsSnapshot}; unknown labels are dropped, missing ones are 0. */
const clientSnapshotSchema = z.object(
  {
    retry_attempt_total: countsBy(ATTEMPT_LABELS),
    http_request_outcome: countsBy(OUTCOME_CLASSES),
    retry_budget_exhausted_total: count.default(0),
    retry_delay_seconds: z.object(
      {
        buckets: z
          .array(z.object({ le: count, count }, { error: 'must be an object' }), {
            error: 'must be a list',
          })
          .max(64, 'must have at most 64 buckets'),
        sum: count,
        count,
      },
      { error: 'must be an object' },
    ),
  },
  { error: 'the snapshot must be an object' },
);

/** Validates a pushed snapshot; throws a readable error (field path and why) for anything else. */
export function parseClientSnapshot(json: unknown): ClientMetricsSnapshot {
  const parsed = clientSnapshotSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  throw new Error(`${issue?.path.join('.') || 'snapshot'}: ${issue?.message ?? 'invalid'}`);
}

/** Sums client snapshots (several clients, each cumulative) into one. */
export function mergeClientSnapshots(snapshots: ClientMetricsSnapshot[]): ClientMetricsSnapshot {
  const merged = emptyClientSnapshot();
  for (const snapshot of snapshots) {
    for (const attempt of ATTEMPT_LABELS) {
      merged.retry_attempt_total[attempt] += snapshot.retry_attempt_total[attempt] ?? 0;
    }
    for (const cls of OUTCOME_CLASSES) {
      merged.http_request_outcome[cls] += snapshot.http_request_outcome[cls] ?? 0;
    }
    merged.retry_budget_exhausted_total += snapshot.retry_budget_exhausted_total;
    const delays = merged.retry_delay_seconds;
    for (const bucket of snapshot.retry_delay_seconds.buckets) {
      const target = delays.buckets.find((candidate) => candidate.le === bucket.le);
      if (target) target.count += bucket.count;
      else delays.buckets.push({ ...bucket });
    }
    delays.buckets.sort((a, b) => a.le - b.le);
    delays.sum += snapshot.retry_delay_seconds.sum;
    delays.count += snapshot.retry_delay_seconds.count;
  }
  return merged;
}

function emptyClientSnapshot(): ClientMetricsSnapshot {
  return {
    retry_attempt_total: zeroes(ATTEMPT_LABELS),
    http_request_outcome: zeroes(OUTCOME_CLASSES),
    retry_budget_exhausted_total: 0,
    retry_delay_seconds: {
      buckets: RETRY_DELAY_BUCKETS_SECONDS.map((le) => ({ le, count: 0 })),
      sum: 0,
      count: 0,
    },
  };
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}
