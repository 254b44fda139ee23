import { z } from 'zod';
import { fetchJson, joinUrl, SourceError } from './http.js';

export interface MetricQuery {
  query: string;
  /** Seconds; with it the query runs as query_range over [now - range, now] and is reduced. */
  range?: number;
  step?: number;
  reduce?: 'last' | 'max' | 'min' | 'avg';
}

export interface PrometheusSettings {
  url: string;
  headers?: Record<string, string>;
  queries: Record<string, MetricQuery>;
}

const sampleSchema = z.tuple([z.number(), z.string()]);
const responseSchema = z.discriminatedUnion('status', [
  z.looseObject({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.looseObject({
        resultType: z.literal('vector'),
        result: z.array(z.looseObject({ value: sampleSchema })),
      }),
      z.looseObject({
        resultType: z.literal('matrix'),
        result: z.array(z.looseObject({ values: z.array(sampleSchema) })),
      }),
      z.looseObject({ resultType: z.literal('scalar'), result: sampleSchema }),
    ]),
  }),
  z.looseObject({
    status: z.literal('error'),
    errorType: z.string().optional(),
    error: z.string().optional(),
  }),
]);

function reduce(values: number[], how: MetricQuery['reduce']): number | undefined {
  if (values.length === 0) return undefined;
  switch (how) {
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    default:
      return values[values.length - 1];
  }
}

/**
 * Runs one PromQL query. Several series are reduced to the worst (highest)
 * value, so write queries that aggregate (sum, histogram_quantile) to get one.
 * An empty result is `undefined`: no data is not zero.
 */
export async function queryMetric(
  settings: PrometheusSettings,
  name: string,
  q: MetricQuery,
  now: number,
  signal: AbortSignal,
): Promise<number | undefined> {
  const source = `prometheus ${name}`;
  const params = new URLSearchParams({ query: q.query });
  let path = '/api/v1/query';
  if (q.range) {
    path = '/api/v1/query_range';
    const step = q.step ?? Math.max(1, Math.round(q.range / 20));
    params.set('start', String(now - q.range));
    params.set('end', String(now));
    params.set('step', String(step));
  } else {
    params.set('time', String(now));
  }
  const body = await fetchJson(`${joinUrl(settings.url, path)}?${params}`, {
    signal,
    headers: settings.headers,
    source,
    answerStatuses: [400, 422],
  });
  const parsed = responseSchema.safeParse(body);
  if (!parsed.success) throw new SourceError(`${source}: the answer is not in the Prometheus API shape`);
  const response = parsed.data;
  if (response.status === 'error')
    throw new SourceError(`${source}: ${response.errorType ?? 'error'}: ${response.error ?? 'no detail'}`);
  const finite = (v: string): number | undefined => {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const data = response.data;
  if (data.resultType === 'scalar') return finite(data.result[1]);
  if (data.resultType === 'vector') {
    const values = data.result.map((r) => finite(r.value[1])).filter((v): v is number => v !== undefined);
    return values.length ? Math.max(...values) : undefined;
  }
  const perSeries = data.result
    .map((r) =>
      reduce(
        r.values.map((s) => finite(s[1])).filter((v): v is number => v !== undefined),
        q.reduce,
      ),
    )
    .filter((v): v is number => v !== undefined);
  return perSeries.length ? Math.max(...perSeries) : undefined;
}

export interface MetricsResult {
  metrics: Record<string, number>;
  /** Queries that failed or returned nothing, with why. */
  problems: string[];
}

/** Runs every configured query in parallel; one failing query does not lose the others. */
export async function gatherMetrics(
  settings: PrometheusSettings,
  now: number,
  signal: AbortSignal,
): Promise<MetricsResult> {
  const entries = Object.entries(settings.queries);
  const results = await Promise.allSettled(
    entries.map(([name, q]) => queryMetric(settings, name, q, now, signal)),
  );
  const metrics: Record<string, number> = {};
  const problems: string[] = [];
  results.forEach((result, i) => {
    const name = entries[i][0];
    if (result.status === 'rejected') problems.push((result.reason as Error).message);
    else if (result.value === undefined) problems.push(`prometheus ${name}: no data`);
    else metrics[name] = result.value;
  });
  if (
    entries.length > 0 &&
    Object.keys(metrics).length === 0 &&
    results.every((r) => r.status === 'rejected')
  )
    throw new SourceError(problems[0] ?? 'prometheus: every query failed');
  return { metrics, problems };
}
