/**
 * Reads the Prometheus text exposition the metrics view serves, so the proof reports what
 * the metrics say rather than what it counted itself.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;

/** The samples of an exposition; comments and malformed lines are skipped. */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const [, name = '', labelText = '', valueText = ''] = match;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    let ok = true;
    while (LABEL.lastIndex < labelText.length) {
      const start = LABEL.lastIndex;
      const label = LABEL.exec(labelText);
      if (!label || LABEL.lastIndex === start) {
        ok = labelText.slice(start).trim() === '';
        break;
      }
      labels[label[1] ?? ''] = (label[2] ?? '').replace(/\\(.)/g, (_m, c: string) =>
        c === 'n' ? '\n' : c,
      );
    }
    if (!ok) continue;
    const value =
      valueText === '+Inf'
        ? Number.POSITIVE_INFINITY
        : valueText === '-Inf'
          ? Number.NEGATIVE_INFINITY
          : Number(valueText);
    if (Number.isNaN(value) && valueText !== 'NaN') continue;
    samples.push({ name, labels, value });
  }
  return samples;
}

/** A parsed exposition with lookups. */
export class MetricsReading {
  readonly samples: PromSample[];

  constructor(samples: PromSample[]) {
    this.samples = samples;
  }

  static parse(text: string): MetricsReading {
    return new MetricsReading(parsePrometheusText(text));
  }

  /** The sum of `name` over every series whose labels include `labels`; 0 when absent. */
  value(name: string, labels: Record<string, string> = {}): number {
    let total = 0;
    for (const sample of this.samples) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) {
        total += sample.value;
      }
    }
    return total;
  }

  /** Label value → value, for one label of `name` (e.g. outcome of idempotency_key_total). */
  by(name: string, label: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const sample of this.samples) {
      if (sample.name !== name || sample.labels[label] === undefined) continue;
      const key = sample.labels[label] ?? '';
      out[key] = (out[key] ?? 0) + sample.value;
    }
    return out;
  }
}

/** GET `url` (a /metrics endpoint) and parse it. */
export async function readMetrics(url: string): Promise<MetricsReading> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return MetricsReading.parse(await response.text());
}
