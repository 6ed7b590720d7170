import type { Template } from 'aws-cdk-lib/assertions';

/** A metric an alarm or a dashboard widget reads: exactly these dimensions. */
export interface RequiredMetric {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  /** Where it is read (alarm or widget title), for the failure message. */
  readBy: string;
}

/** A SEARCH expression's metric: any values, but exactly these dimension names. */
export interface SearchedMetric {
  namespace: string;
  name: string;
  dimensionNames: string[];
  readBy: string;
}

type Dimensions = { Name: string; Value: unknown }[];
type MetricStat = { Metric: { Namespace: string; MetricName: string; Dimensions?: Dimensions } };

const dimensionsOf = (dimensions: Dimensions = []) =>
  Object.fromEntries(dimensions.map(({ Name, Value }) => [Name, String(Value)]));

/**
 * Every metric the template's alarms and dashboard read, except AWS's own (namespaces
 * `AWS/...`: SQS depth, API Gateway 5xx), which AWS emits whatever the code does.
 */
export function requiredMetrics(template: Template): {
  metrics: RequiredMetric[];
  searches: SearchedMetric[];
} {
  const metrics: RequiredMetric[] = [];
  const searches: SearchedMetric[] = [];
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::CloudWatch::Alarm') {
      const p = resource.Properties;
      if (typeof p.MetricName === 'string') {
        metrics.push({
          namespace: String(p.Namespace),
          name: p.MetricName,
          dimensions: dimensionsOf(p.Dimensions as Dimensions),
          readBy: `alarm ${id}`,
        });
      }
      for (const query of (p.Metrics ?? []) as { MetricStat?: MetricStat }[]) {
        const metric = query.MetricStat?.Metric;
        if (!metric) continue;
        metrics.push({
          namespace: metric.Namespace,
          name: metric.MetricName,
          dimensions: dimensionsOf(metric.Dimensions),
          readBy: `alarm ${id}`,
        });
      }
    }
    if (resource.Type === 'AWS::CloudWatch::Dashboard') {
      const body = dashboardBody(resource.Properties.DashboardBody);
      for (const widget of body.widgets) {
        const title = String(widget.properties?.title ?? widget.type);
        for (const entry of (widget.properties?.metrics ?? []) as unknown[][]) {
          const options = entry.at(-1);
          const fields = entry.filter((field) => typeof field === 'string') as string[];
          const expression =
            typeof options === 'object' && options !== null
              ? (options as { expression?: string }).expression
              : undefined;
          if (expression) {
            const search = /SEARCH\('\{([^}]*)\} MetricName="([^"]+)"'/.exec(expression);
            if (search) {
              const [namespace = '', ...dimensionNames] = (search[1] ?? '').split(',');
              searches.push({ namespace, name: search[2] ?? '', dimensionNames, readBy: title });
            }
            continue;
          }
          const [namespace = '', name = '', ...pairs] = fields;
          const dimensions: Record<string, string> = {};
          for (let i = 0; i + 1 < pairs.length; i += 2)
            dimensions[pairs[i] ?? ''] = pairs[i + 1] ?? '';
          metrics.push({ namespace, name, dimensions, readBy: `dashboard "${title}"` });
        }
      }
    }
  }
  const own = <T extends { namespace: string }>(list: T[]) =>
    list.filter((metric) => !metric.namespace.startsWith('AWS/'));
  return { metrics: dedupe(own(metrics)), searches: own(searches) };
}

function dedupe(metrics: RequiredMetric[]): RequiredMetric[] {
  const seen = new Map<string, RequiredMetric>();
  for (const metric of metrics) {
    const key = JSON.stringify([metric.namespace, metric.name, sorted(metric.dimensions)]);
    if (!seen.has(key)) seen.set(key, metric);
  }
  return [...seen.values()];
}

const sorted = (dimensions: Record<string, string>) =>
  Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b));

/** The dashboard JSON with CloudFormation references replaced by a placeholder string. */
function dashboardBody(body: unknown): {
  widgets: { type: string; properties?: { title?: string; metrics?: unknown[] } }[];
} {
  if (typeof body === 'string') return JSON.parse(body);
  const [separator, parts] = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return JSON.parse(
    parts.map((part) => (typeof part === 'string' ? part : 'CFN_REFERENCE')).join(separator),
  );
}

/** One metric in one EMF document: namespace, name and the document's dimension values. */
export interface EmittedMetric {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

/** The metrics in EMF lines (other lines are ignored). */
export function emittedMetrics(lines: readonly string[]): EmittedMetric[] {
  const emitted: EmittedMetric[] = [];
  for (const line of lines) {
    if (!line.startsWith('{') || !line.includes('"_aws"')) continue;
    let document: Record<string, unknown>;
    try {
      document = JSON.parse(line);
    } catch {
      continue;
    }
    const directives = (
      document._aws as {
        CloudWatchMetrics?: {
          Namespace: string;
          Dimensions: string[][];
          Metrics: { Name: string }[];
        }[];
      }
    )?.CloudWatchMetrics;
    for (const directive of directives ?? []) {
      for (const dimensionSet of directive.Dimensions) {
        const dimensions = Object.fromEntries(
          dimensionSet.map((key) => [key, String(document[key])]),
        );
        for (const metric of directive.Metrics) {
          emitted.push({ namespace: directive.Namespace, name: metric.Name, dimensions });
        }
      }
    }
  }
  return emitted;
}

/** CloudWatch matches dimensions exactly: same names, same values, no more, no fewer. */
export function satisfies(emitted: EmittedMetric, required: RequiredMetric): boolean {
  return (
    emitted.namespace === required.namespace &&
    emitted.name === required.name &&
    JSON.stringify(sorted(emitted.dimensions)) === JSON.stringify(sorted(required.dimensions))
  );
}

export function satisfiesSearch(emitted: EmittedMetric, search: SearchedMetric): boolean {
  return (
    emitted.namespace === search.namespace &&
    emitted.name === search.name &&
    JSON.stringify(Object.keys(emitted.dimensions).sort()) ===
      JSON.stringify([...search.dimensionNames].sort())
  );
}

/** What the alarms and dashboard read that nothing emitted, described for a failure message. */
export function missingEmissions(
  required: { metrics: RequiredMetric[]; searches: SearchedMetric[] },
  emitted: EmittedMetric[],
): string[] {
  return [
    ...required.metrics
      .filter((metric) => !emitted.some((candidate) => satisfies(candidate, metric)))
      .map(
        (metric) =>
          `${metric.name} ${JSON.stringify(metric.dimensions)} (read by ${metric.readBy})`,
      ),
    ...required.searches
      .filter((search) => !emitted.some((candidate) => satisfiesSearch(candidate, search)))
      .map(
        (search) =>
          `${search.name} with dimensions ${search.dimensionNames.join(',')} (read by ${search.readBy})`,
      ),
  ];
}
