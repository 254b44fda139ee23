import { z } from 'zod';
import type { LogLine } from '../core/index.js';
import { fetchJson, joinUrl, SourceError } from './http.js';

export interface LokiSettings {
  url: string;
  headers?: Record<string, string>;
  query: string;
  since: number;
  limit: number;
  maxLineLength: number;
  maxBytes: number;
  tenant?: string;
}

const responseSchema = z.looseObject({
  status: z.string(),
  data: z
    .looseObject({
      resultType: z.string(),
      result: z.array(
        z.looseObject({
          stream: z.record(z.string(), z.string()).optional(),
          values: z.array(z.tuple([z.string(), z.string()]).rest(z.unknown())),
        }),
      ),
    })
    .optional(),
  error: z.string().optional(),
});

const SERVICE_LABELS = ['service_name', 'service', 'app', 'app_kubernetes_io_name', 'container', 'job'];
const LEVEL_LABELS = ['level', 'detected_level', 'severity', 'lvl'];

function pick(labels: Record<string, string> | undefined, keys: string[]): string | undefined {
  if (!labels) return undefined;
  for (const key of keys) if (labels[key]) return labels[key];
  return undefined;
}

/**
 * The newest error lines from Loki's query_range, newest last, each cut to
 * `maxLineLength` and all of them to `maxBytes`, so a log storm cannot flood
 * the context (or the LLM prompt).
 */
export async function gatherLogs(
  settings: LokiSettings,
  now: number,
  signal: AbortSignal,
): Promise<LogLine[]> {
  const params = new URLSearchParams({
    query: settings.query,
    start: `${BigInt(Math.floor((now - settings.since) * 1e3)) * 1_000_000n}`,
    end: `${BigInt(Math.floor(now * 1e3)) * 1_000_000n}`,
    limit: String(settings.limit),
    direction: 'backward',
  });
  const headers = { ...settings.headers, ...(settings.tenant ? { 'X-Scope-OrgID': settings.tenant } : {}) };
  const body = await fetchJson(`${joinUrl(settings.url, '/loki/api/v1/query_range')}?${params}`, {
    signal,
    headers,
    source: 'loki',
  });
  const parsed = responseSchema.safeParse(body);
  if (!parsed.success || !parsed.data.data)
    throw new SourceError('loki: the answer is not in the Loki API shape');
  if (parsed.data.status !== 'success')
    throw new SourceError(`loki: ${parsed.data.error ?? parsed.data.status}`);
  if (parsed.data.data.resultType !== 'streams')
    throw new SourceError(
      `loki: expected a log query (streams), got ${parsed.data.data.resultType}; check loki.query`,
    );
  const entries: Array<{ ns: bigint; line: LogLine }> = [];
  for (const stream of parsed.data.data.result) {
    for (const [ts, text] of stream.values) {
      let ns: bigint;
      try {
        ns = BigInt(ts);
      } catch {
        continue;
      }
      const line = text.length > settings.maxLineLength ? `${text.slice(0, settings.maxLineLength)}…` : text;
      entries.push({
        ns,
        line: {
          service: pick(stream.stream, SERVICE_LABELS),
          level: pick(stream.stream, LEVEL_LABELS),
          line,
        },
      });
    }
  }
  entries.sort((a, b) => (a.ns < b.ns ? 1 : a.ns > b.ns ? -1 : 0));
  const kept: LogLine[] = [];
  let bytes = 0;
  for (const { line } of entries.slice(0, settings.limit)) {
    bytes += Buffer.byteLength(line.line);
    if (bytes > settings.maxBytes) break;
    kept.push(line);
  }
  return kept.reverse();
}
