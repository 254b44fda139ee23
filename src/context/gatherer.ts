import type { ChangeRecord, ContextSource, IncidentContext, StatusFeed } from '../core/index.js';
import type { PhoenixConfig } from '../config/index.js';
import { AwsHealthGatherer, type AwsHealthSettings } from './aws-health.js';
import { openStore } from '../store/index.js';
import { ChangeStore } from './changes.js';
import { SourceError } from './http.js';
import { KubernetesChangesGatherer } from './kubernetes.js';
import { gatherLogs } from './loki.js';
import { gatherMetrics, type MetricQuery } from './prometheus.js';
import { gatherStatusPage, type StatusPageSettings } from './statuspage.js';

/** How one source did in the last gather: shown by `phoenix analyze` and kept by the controller. */
export interface SourceReport {
  source: string;
  ok: boolean;
  detail?: string;
  latency_ms: number;
}

/** One source: what it adds to the context, and what it leaves when it fails. */
export interface ContextPart {
  readonly name: string;
  readonly timeoutMs: number;
  run(now: number, signal: AbortSignal): Promise<{ context: IncidentContext; detail?: string }>;
  /** The context a failed source leaves: `available: false` for feeds, nothing for metrics and logs. */
  failed(detail: string): IncidentContext;
}

function merge(into: IncidentContext, part: IncidentContext): void {
  for (const [key, value] of Object.entries(part) as Array<[keyof IncidentContext, unknown]>) {
    if (value === undefined) continue;
    if (key === 'status_pages')
      into.status_pages = { ...into.status_pages, ...(value as Record<string, StatusFeed>) };
    else if (key === 'metrics') into.metrics = { ...into.metrics, ...(value as Record<string, number>) };
    else if (key === 'changes') into.changes = [...(into.changes ?? []), ...(value as ChangeRecord[])];
    else if (key === 'logs')
      into.logs = [...(into.logs ?? []), ...(value as IncidentContext['logs'] & object)];
    else (into as Record<string, unknown>)[key] = value;
  }
}

/** Runs `work` with a deadline even if it ignores the abort signal. */
async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new SourceError(`no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The live ContextSource: every configured source in parallel, each with its
 * own time limit. A source that fails or is slow is reported (`available:
 * false` with the reason for feeds) and never fails the gather. The result is
 * cached per cycle: asking again for the same `now` returns the same context.
 */
export class ContextGatherer implements ContextSource {
  private cached?: { now: number; result: Promise<IncidentContext> };
  lastReport: SourceReport[] = [];

  constructor(
    readonly parts: ContextPart[],
    private readonly onClose: Array<() => void> = [],
  ) {}

  /** Releases what the sources hold open (the changes store). */
  close(): void {
    for (const release of this.onClose.splice(0)) release();
  }

  gather(now: number): Promise<IncidentContext> {
    if (this.cached?.now === now) return this.cached.result;
    const result = this.run(now);
    this.cached = { now, result };
    return result;
  }

  private async run(now: number): Promise<IncidentContext> {
    const reports: SourceReport[] = [];
    const pieces = await Promise.all(
      this.parts.map(async (part) => {
        const started = performance.now();
        try {
          const { context, detail } = await withDeadline(part.timeoutMs, (signal) => part.run(now, signal));
          reports.push({
            source: part.name,
            ok: true,
            detail,
            latency_ms: Math.round(performance.now() - started),
          });
          return context;
        } catch (error) {
          const raw = error instanceof Error ? error.message : String(error);
          const bare = raw.startsWith(`${part.name}: `) ? raw.slice(part.name.length + 2) : raw;
          const detail = `${part.name}: ${bare}`;
          reports.push({
            source: part.name,
            ok: false,
            detail,
            latency_ms: Math.round(performance.now() - started),
          });
          return part.failed(bare);
        }
      }),
    );
    const context: IncidentContext = {};
    for (const piece of pieces) merge(context, piece);
    context.changes?.sort((a, b) => a.at - b.at);
    this.lastReport = reports.sort((a, b) => a.source.localeCompare(b.source));
    return context;
  }
}

export interface GathererOptions {
  /**
   * Where recorded changes live. Absent: with a `context.changes` section the
   * store at `store.path` is opened on first use; without one they are not read.
   */
  changes?: ChangeStore;
  /** Static AWS credentials (tests); otherwise `aws_health.access_key_id`, else the SDK's default chain. */
  awsCredentials?: AwsHealthSettings['credentials'];
}

function statusPart(
  name: string,
  settings: StatusPageSettings,
  timeoutMs: number,
  place: (feed: StatusFeed) => IncidentContext,
): ContextPart {
  return {
    name,
    timeoutMs,
    run: async (_now, signal) => ({ context: place(await gatherStatusPage(settings, signal, name)) }),
    failed: (detail) => place({ available: false, detail }),
  };
}

type ContextSection = NonNullable<PhoenixConfig['raw']['context']>;
/** A source's time limit in ms: its own `timeout`, else the section's. */
type TimeoutOf = (timeout_s: number | undefined) => number;

/** AWS Health for the primary (and secondary) region's services, through the SDK or a stand-in endpoint. */
function awsHealthPart(
  aws: NonNullable<ContextSection['aws_health']>,
  topology: PhoenixConfig['topology'],
  ms: TimeoutOf,
  credentials: GathererOptions['awsCredentials'],
): ContextPart {
  const settings: AwsHealthSettings = {
    endpoint: aws.endpoint,
    region: aws.region,
    endpoints: aws.endpoints,
    dnsServers: aws.dns_servers,
    organization: aws.organization,
    attemptTimeoutMs: ms(aws.timeout) / 2,
    regions: [topology.primary.region, topology.secondary?.region].filter((r): r is string => Boolean(r)),
    services: [...new Set([...(topology.primary.services ?? []), ...(topology.secondary?.services ?? [])])],
    details: aws.details ?? true,
    since: aws.since ?? 86400,
    credentials:
      credentials ??
      (aws.access_key_id && aws.secret_access_key
        ? {
            accessKeyId: aws.access_key_id,
            secretAccessKey: aws.secret_access_key,
            ...(aws.session_token ? { sessionToken: aws.session_token } : {}),
          }
        : undefined),
  };
  let gatherer: AwsHealthGatherer | undefined;
  return {
    name: 'aws_health',
    timeoutMs: ms(aws.timeout),
    run: async (now, signal) => {
      gatherer ??= new AwsHealthGatherer(settings);
      const feed = await gatherer.gather(now, signal);
      return { context: { aws_health: feed }, detail: gatherer.lastRoute };
    },
    failed: (detail) => ({ aws_health: { available: false, detail } }),
  };
}

/** Cloudflare's and Azure's status pages and every other configured one. */
function statusPageParts(section: ContextSection, ms: TimeoutOf): ContextPart[] {
  const parts: ContextPart[] = [];
  const page = (s: NonNullable<typeof section.cloudflare>): StatusPageSettings => ({
    url: s.url,
    format: s.format ?? 'statuspage',
    components: s.components,
    headers: s.headers,
  });
  if (section.cloudflare && section.cloudflare.enabled !== false)
    parts.push(
      statusPart('cloudflare', page(section.cloudflare), ms(section.cloudflare.timeout), (f) => ({
        cloudflare: f,
      })),
    );
  if (section.azure_status && section.azure_status.enabled !== false)
    parts.push(
      statusPart('azure_status', page(section.azure_status), ms(section.azure_status.timeout), (f) => ({
        azure_status: f,
      })),
    );
  for (const [name, s] of Object.entries(section.status_pages ?? {})) {
    if (s.enabled === false) continue;
    parts.push(
      statusPart(`status_pages.${name}`, page(s), ms(s.timeout), (f) => ({ status_pages: { [name]: f } })),
    );
  }
  return parts;
}

/** The configured PromQL queries, each one number in the context's metrics. */
function prometheusPart(prom: NonNullable<ContextSection['prometheus']>, ms: TimeoutOf): ContextPart {
  const queries: Record<string, MetricQuery> = Object.fromEntries(
    Object.entries(prom.queries).map(([k, q]) => [k, typeof q === 'string' ? { query: q } : q]),
  );
  return {
    name: 'prometheus',
    timeoutMs: ms(prom.timeout),
    run: async (now, signal) => {
      const { metrics, problems } = await gatherMetrics(
        { url: prom.url, headers: prom.headers, queries },
        now,
        signal,
      );
      return { context: { metrics }, detail: problems.length ? problems.join('; ') : undefined };
    },
    failed: () => ({}),
  };
}

/** Recent log lines from Loki, capped in number and size. */
function lokiPart(loki: NonNullable<ContextSection['loki']>, ms: TimeoutOf): ContextPart {
  return {
    name: 'loki',
    timeoutMs: ms(loki.timeout),
    run: async (now, signal) => ({
      context: {
        logs: await gatherLogs(
          {
            url: loki.url,
            headers: loki.headers,
            query: loki.query,
            since: loki.since ?? 900,
            limit: loki.limit ?? 50,
            maxLineLength: loki.max_line_length ?? 500,
            maxBytes: loki.max_bytes ?? 16_384,
            tenant: loki.tenant,
          },
          now,
          signal,
        ),
      },
    }),
    failed: () => ({}),
  };
}

/** Recent rollouts and other changes read from the Kubernetes API. */
function kubernetesPart(k8s: NonNullable<ContextSection['kubernetes']>, ms: TimeoutOf): ContextPart {
  let gatherer: KubernetesChangesGatherer | undefined;
  return {
    name: 'kubernetes',
    timeoutMs: ms(k8s.timeout),
    run: async (now, signal) => {
      gatherer ??= new KubernetesChangesGatherer({
        kubeconfig: k8s.kubeconfig,
        context: k8s.context,
        namespaces: k8s.namespaces,
        since: k8s.since ?? 6 * 3600,
      });
      return { context: { changes: await gatherer.gather(now, signal) } };
    },
    failed: () => ({}),
  };
}

/** Changes recorded through `phoenix change` and the API; the store is opened on first use and released by `closers`. */
function recordedChangesPart(
  config: PhoenixConfig,
  since: number,
  timeoutMs: number,
  given: ChangeStore | undefined,
  closers: Array<() => void>,
): ContextPart {
  let store = given;
  return {
    name: 'changes',
    timeoutMs,
    run: async (now) => {
      if (!store) {
        store = ChangeStore.on(await openStore(config.store), true);
        const opened = store;
        closers.push(() => opened.close());
      }
      return {
        context: {
          changes: (await store.between(now - since, now + 60)).map(({ at, kind, service, description }) => ({
            at,
            kind,
            ...(service ? { service } : {}),
            description,
          })),
        },
      };
    },
    failed: () => ({}),
  };
}

/** Builds the gatherer from the `context:` section and the topology. Only configured sources run. */
export function createContextGatherer(config: PhoenixConfig, options: GathererOptions = {}): ContextGatherer {
  const section = config.raw.context ?? {};
  const defaultTimeout = (section.timeout ?? 5) * 1000;
  const ms: TimeoutOf = (t) => (t !== undefined ? t * 1000 : defaultTimeout);
  const parts: ContextPart[] = [];
  const { aws_health: aws, prometheus: prom, loki, kubernetes: k8s, changes: recorded } = section;
  if (aws && aws.enabled !== false)
    parts.push(awsHealthPart(aws, config.topology, ms, options.awsCredentials));
  parts.push(...statusPageParts(section, ms));
  if (prom && prom.enabled !== false) parts.push(prometheusPart(prom, ms));
  if (loki && loki.enabled !== false) parts.push(lokiPart(loki, ms));
  if (k8s && k8s.enabled !== false) parts.push(kubernetesPart(k8s, ms));
  const closers: Array<() => void> = [];
  if ((options.changes || recorded) && recorded?.enabled !== false)
    parts.push(
      recordedChangesPart(config, recorded?.since ?? 6 * 3600, defaultTimeout, options.changes, closers),
    );
  return new ContextGatherer(parts, closers);
}
