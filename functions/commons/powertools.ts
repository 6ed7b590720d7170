import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type LabelsOf,
  METRIC_NAMESPACE,
  type MetricLabels,
  type MetricName,
  SERVICE_NAME,
} from '../../primitives/metric-names.ts';

/** The service's one Logger, shared by every handler in a process. */
export const logger = new Logger({ serviceName: SERVICE_NAME });

/** The service's one Metrics instance (EMF), shared by every handler in a process. */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRIC_NAMESPACE,
  serviceName: SERVICE_NAME,
});

/**
 * One single-metric emitter, reused: `singleMetric()` builds a whole Metrics object (console,
 * environment parsing) per call, which profiling showed as the largest per-request cost. Each
 * addMetric publishes at once and clears the dimensions, and the add-then-publish happens
 * within one synchronous call, so concurrent invocations cannot mix their labels.
 */
const singleMetrics = metrics.singleMetric();

/**
 * Adds `value` to counter `name`, with `dimensions` as its labels (for example
 * `{ outcome: 'replay' }`). Each call is flushed on its own as one EMF line, because EMF
 * dimensions apply to a whole document and counters here carry different label sets.
 */
export function countMetric<N extends MetricName>(
  name: N,
  ...[dimensions, value = 1]: N extends keyof MetricLabels
    ? [dimensions: MetricLabels[N], value?: number]
    : [dimensions?: LabelsOf<N>, value?: number]
): void {
  for (const [key, dimension] of Object.entries(dimensions ?? {}) as [string, string][])
    singleMetrics.addDimension(key, dimension);
  singleMetrics.addMetric(name, MetricUnit.Count, value);
}

/** Records a point-in-time measurement (lag, depth) in `unit`. */
export function gaugeMetric(
  name: MetricName,
  value: number,
  unit: (typeof MetricUnit)[keyof typeof MetricUnit] = MetricUnit.Count,
): void {
  singleMetrics.addMetric(name, unit, value);
}
