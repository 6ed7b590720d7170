/** The Prometheus text exposition format (version 0.0.4), rendered from metric families. */

/** A series' labels: name → value. */
export type Labels = Record<string, string>;

/** One metric: its name, type and every sample (a histogram's buckets, sum and count too). */
export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: { name: string; labels: Labels; value: number }[];
}

/** `name{a="1",b="2"}` with labels sorted and values escaped, as in the exposition format. */
export function seriesKey(name: string, labels: Labels = {}): string {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return name;
  const inner = entries
    .map(
      ([key, value]) =>
        `${key}="${value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"')}"`,
    )
    .join(',');
  return `${name}{${inner}}`;
}

/** The text of `families`: HELP and TYPE lines, then one line per sample. */
export function renderExposition(families: Family[], help: (name: string) => string): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${help(family.name)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(`${seriesKey(sample.name, sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
