/**
 * Reads CloudWatch Embedded Metric Format documents (what Powertools Metrics prints) from the
 * local processes' output and keeps the totals, so local runs see the same metrics CloudWatch
 * would: counters are summed, gauges keep their latest value.
 */
import { GAUGE_METRICS } from '../../primitives/metric-names.ts';

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Metrics that are point-in-time readings rather than counts. */
export const GAUGES: ReadonlySet<string> = new Set(GAUGE_METRICS);

/** The samples in one EMF line; empty for any other line. */
export function parseEmfLine(line: string): MetricSample[] {
  if (!line.startsWith('{') || !line.includes('"_aws"')) return [];
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return [];
  }
  const aws = document._aws as {
    CloudWatchMetrics?: { Dimensions?: string[][]; Metrics?: { Name: string }[] }[];
  };
  const samples: MetricSample[] = [];
  for (const directive of aws?.CloudWatchMetrics ?? []) {
    const labels: Record<string, string> = {};
    for (const key of directive.Dimensions?.[0] ?? []) {
      if (key !== 'service') labels[key] = String(document[key]);
    }
    for (const metric of directive.Metrics ?? []) {
      const raw = document[metric.Name];
      const values = Array.isArray(raw) ? raw : [raw];
      for (const value of values) {
        if (typeof value === 'number') samples.push({ name: metric.Name, labels, value });
      }
    }
  }
  return samples;
}

const keyOf = (name: string, labels: Record<string, string>): string =>
  `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;

export class MetricsRegistry {
  readonly #series = new Map<string, MetricSample>();

  /** Records the EMF samples in `line`; returns whether the line was an EMF document. */
  observeLine(line: string): boolean {
    const samples = parseEmfLine(line);
    for (const sample of samples) this.record(sample);
    return samples.length > 0;
  }

  record(sample: MetricSample): void {
    const key = keyOf(sample.name, sample.labels);
    const existing = this.#series.get(key);
    const value =
      GAUGES.has(sample.name) || !existing ? sample.value : existing.value + sample.value;
    this.#series.set(key, { ...sample, value });
  }

  /** The total of `name` over every series whose labels include `labels`. */
  value(name: string, labels: Record<string, string> = {}): number {
    let total = 0;
    for (const sample of this.#series.values()) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
        total += sample.value;
    }
    return total;
  }

  samples(): MetricSample[] {
    return [...this.#series.values()];
  }
}
