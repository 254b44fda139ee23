import type { EC2Client } from '@aws-sdk/client-ec2';
import pRetry, { AbortError } from 'p-retry';
import type { CrossRegionCheck, Signal } from '../core/index.js';
import type { ProbeConfig } from '../config/sections/probes.js';
import { describeError, ms, round, type Probe, type ProbeRunContext } from './probe.js';
import { askAgent } from './uptime.js';

type Ec2Sdk = typeof import('@aws-sdk/client-ec2');

/**
 * What one call's answer says about the region's API. Only `failed` counts
 * against the cloud: throttling is the account's rate budget (other tools in
 * the account spend it), auth errors are our credentials or IAM policy, and
 * other client errors are our parameters (EC2 API reference, "Error codes":
 * client errors are 4xx caused by the request, server errors 5xx).
 */
export type Ec2CallOutcome = 'ok' | 'failed' | 'throttled' | 'auth' | 'misconfigured';

const THROTTLING = /^(RequestLimitExceeded|Throttling.*|TooManyRequestsException)$/;
const AUTH =
  /^(AuthFailure.*|UnauthorizedOperation|AccessDenied.*|InvalidClientTokenId|SignatureDoesNotMatch|Blocked|OptInRequired)$/;

export interface Ec2ErrorClass {
  outcome: Ec2CallOutcome;
  /** The AWS error code, or the transport failure (`timeout`, `connection refused`, `not EC2 XML`). */
  code: string;
}

/** Classifies by error code first: EC2 answers RequestLimitExceeded with HTTP 503, like a server error. */
export function classifyEc2Error(error: unknown): Ec2ErrorClass {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode;
  if (name === 'DryRunOperation') return { outcome: 'ok', code: name };
  if (THROTTLING.test(name)) return { outcome: 'throttled', code: name };
  if (AUTH.test(name)) return { outcome: 'auth', code: name };
  if (name === 'TimeoutError' || name === 'AbortError') return { outcome: 'failed', code: 'timeout' };
  if (status !== undefined && status >= 400 && status < 500 && !/Deserialization|SyntaxError/i.test(name))
    return { outcome: 'misconfigured', code: name || `HTTP ${status}` };
  if (status !== undefined && /Deserialization|XML|Unexpected|char|parse/i.test(`${name} ${e.message}`))
    return { outcome: 'failed', code: `not EC2 XML (HTTP ${status})` };
  if (status !== undefined)
    return { outcome: 'failed', code: name && name !== 'Error' ? name : `HTTP ${status}` };
  return { outcome: 'failed', code: describeError(error) };
}

interface CallSpec {
  label: string;
  /** Whether a successful answer is DryRunOperation rather than a result. */
  dryRun: boolean;
  send(client: EC2Client, sdk: Ec2Sdk, opts: { abortSignal: AbortSignal }): Promise<unknown>;
}

function callSpecs(config: ProbeConfig): CallSpec[] {
  const describes = config.calls ?? ['DescribeAvailabilityZones', 'DescribeInstances', 'DescribeVolumes'];
  // DescribeAvailabilityZones always runs: it gives the zones and their IDs.
  const names = [...new Set(['DescribeAvailabilityZones', ...describes])];
  const specs: CallSpec[] = names.map((label) => ({
    label,
    dryRun: false,
    send: (client, sdk, opts) => {
      const page = { MaxResults: 5 };
      if (label === 'DescribeInstances') return client.send(new sdk.DescribeInstancesCommand(page), opts);
      if (label === 'DescribeVolumes') return client.send(new sdk.DescribeVolumesCommand(page), opts);
      if (label === 'DescribeSubnets') return client.send(new sdk.DescribeSubnetsCommand(page), opts);
      if (label === 'DescribeSecurityGroups')
        return client.send(new sdk.DescribeSecurityGroupsCommand(page), opts);
      if (label === 'DescribeLaunchTemplates')
        return client.send(new sdk.DescribeLaunchTemplatesCommand(page), opts);
      return client.send(new sdk.DescribeAvailabilityZonesCommand({}), opts);
    },
  }));
  for (const d of config.dry_run ?? []) {
    const params = { ...(d.params ?? {}), DryRun: true };
    specs.push({
      label: `${d.operation}(DryRun)`,
      dryRun: true,
      // The parameters are the operator's, passed through as the SDK names them.
      send: (client, sdk, opts) => {
        if (d.operation === 'RunInstances')
          return client.send(
            new sdk.RunInstancesCommand({ MinCount: 1, MaxCount: 1, ...params } as never),
            opts,
          );
        if (d.operation === 'CreateVolume')
          return client.send(new sdk.CreateVolumeCommand(params as never), opts);
        if (d.operation === 'StartInstances')
          return client.send(new sdk.StartInstancesCommand(params as never), opts);
        return client.send(new sdk.StopInstancesCommand(params as never), opts);
      },
    });
  }
  return specs;
}

interface CallResult {
  spec: CallSpec;
  attempts: number;
  outcome: Ec2CallOutcome;
  code?: string;
  latency_ms: number;
  answer?: unknown;
}

/**
 * One call with retries and exponential backoff (jittered) for what may pass:
 * throttling and server or transport failures. Every attempt ends before the
 * probe's own deadline, so the probe reports what it saw instead of `unknown`.
 */
async function callWithRetries(
  client: EC2Client,
  sdk: Ec2Sdk,
  spec: CallSpec,
  deadline: number,
  signal: AbortSignal,
): Promise<CallResult> {
  let attempts = 0;
  let last: Ec2ErrorClass = { outcome: 'failed', code: 'timeout' };
  const started = performance.now();
  const attempt = async (): Promise<unknown> => {
    attempts++;
    const left = deadline - performance.now();
    if (left < 20) throw new AbortError('out of time');
    try {
      return await spec.send(client, sdk, {
        abortSignal: AbortSignal.any([signal, AbortSignal.timeout(Math.floor(left))]),
      });
    } catch (error) {
      last = classifyEc2Error(error);
      if (last.outcome === 'ok') return undefined;
      if (last.outcome === 'auth' || last.outcome === 'misconfigured') throw new AbortError(last.code);
      throw error;
    }
  };
  try {
    const answer = await pRetry(attempt, {
      retries: 4,
      minTimeout: 100,
      maxTimeout: 1000,
      factor: 2,
      randomize: true,
      maxRetryTime: Math.max(0, Math.floor(deadline - performance.now())),
      signal,
    });
    const latency_ms = round(performance.now() - started);
    return {
      spec,
      attempts,
      outcome: 'ok',
      latency_ms,
      answer,
      code: spec.dryRun ? 'DryRunOperation' : undefined,
    };
  } catch {
    const latency_ms = round(performance.now() - started);
    return { spec, attempts, outcome: last.outcome, code: last.code, latency_ms };
  }
}

interface Zone {
  ZoneName?: string;
  ZoneId?: string;
  State?: string;
}
const zoneUsable = (z: Zone): boolean => z.State === 'available' || z.State === 'information';

/** Zone measures keyed by zone ID (the same in every account), and what troubles them. */
function zoneFacts(zones: Zone[]): { measures: Record<string, unknown>; troubled: string[] } {
  const zone_states: Record<string, string> = {};
  for (const z of zones) zone_states[z.ZoneId ?? z.ZoneName ?? '?'] = z.State ?? 'unknown';
  const troubled = zones
    .filter((z) => !zoneUsable(z))
    .map((z) => `${z.ZoneName}${z.ZoneId ? ` (${z.ZoneId})` : ''} ${z.State}`);
  return {
    measures: { zones_total: zones.length, zones_available: zones.filter(zoneUsable).length, zone_states },
    troubled,
  };
}

/** The signal from every call's result: only `failed` calls speak against the region. */
export function ec2Signal(
  region: string,
  vantage: string,
  results: CallResult[],
  maxLatencyS?: number,
): Signal {
  const checks: CrossRegionCheck[] = results.map((r) => ({
    from: vantage,
    service: 'ec2',
    operation: r.spec.label,
    ok: r.outcome === 'ok' ? 1 : 0,
    total: 1,
    ...(r.outcome === 'ok' ? {} : { error: r.code }),
  }));
  const verdicts = results.filter((r) => r.outcome === 'ok' || r.outcome === 'failed');
  const failed = verdicts.filter((r) => r.outcome === 'failed');
  const aside = results.filter((r) => r.outcome !== 'ok' && r.outcome !== 'failed');
  const zonesCall = results.find((r) => r.spec.label === 'DescribeAvailabilityZones');
  const zones = ((zonesCall?.answer as { AvailabilityZones?: Zone[] } | undefined)?.AvailabilityZones ??
    []) as Zone[];
  const { measures, troubled } = zoneFacts(zones);
  const signal: Signal = { status: 'ok', region, checks, ...(zonesCall?.answer ? measures : {}) };
  if (zonesCall?.outcome === 'ok') signal.latency_ms = zonesCall.latency_ms;
  const notes = aside.map((r) => `${r.spec.label} ${r.outcome} (${r.code}, not counted)`);
  const problems = failed.map((r) => `${r.spec.label} ${r.code} after ${r.attempts} attempt(s)`);
  if (verdicts.length === 0) {
    signal.status = 'unknown';
    signal.detail = `${region}: no call gave a verdict: ${notes.join('; ')}`;
    return signal;
  }
  if (failed.length && failed.length === verdicts.length && failed.every((r) => r.code === 'timeout')) {
    // Nothing answered at all: our own network may be the slow part.
    signal.status = 'unknown';
    signal.detail = `${region}: no EC2 call answered in time; ${[...problems, ...notes].join('; ')}`;
    return signal;
  }
  if (failed.length) signal.status = failed.length === verdicts.length ? 'error' : 'degraded';
  if (zonesCall?.answer && zones.length === 0) {
    signal.status = 'error';
    problems.unshift('DescribeAvailabilityZones listed no zones');
  } else if (troubled.length) {
    if (signal.status === 'ok') signal.status = zones.some(zoneUsable) ? 'degraded' : 'error';
    problems.unshift(troubled.join(', '));
  }
  const latency = zonesCall?.outcome === 'ok' ? zonesCall.latency_ms : undefined;
  if (
    signal.status === 'ok' &&
    maxLatencyS !== undefined &&
    latency !== undefined &&
    latency > ms(maxLatencyS)
  ) {
    signal.status = 'degraded';
    problems.push(`EC2 API took ${latency} ms > ${ms(maxLatencyS)} ms`);
  }
  const text = [...problems, ...notes];
  if (text.length) signal.detail = `${region}: ${text.join('; ')}`;
  return signal;
}

/** One vantage point's view of the region's EC2 API; no `signal` when it could not tell (agent unreachable). */
export interface Ec2VantageView {
  vantage: string;
  signal?: Signal;
  detail?: string;
}

const ZONE_MEASURES = ['zones_total', 'zones_available', 'zone_states', 'latency_ms'] as const;

/**
 * The region's EC2 signal from several vantage points (this controller and
 * `phoenix agent`s in other regions): error only when `quorum` of them see the
 * API fail, so one vantage's own trouble (its network, its region) is not
 * taken for the region failing. Every vantage's calls stay in `checks`.
 */
export function combineEc2Vantages(region: string, views: Ec2VantageView[], quorum: number): Signal {
  const statusOf = (v: Ec2VantageView) => v.signal?.status ?? 'unknown';
  const answered = views.filter((v) => statusOf(v) !== 'unknown');
  const failing = answered.filter((v) => statusOf(v) === 'error');
  const status =
    answered.length === 0
      ? 'unknown'
      : failing.length >= quorum
        ? 'error'
        : answered.some((v) => statusOf(v) !== 'ok')
          ? 'degraded'
          : 'ok';
  // Zone facts from the first vantage that listed them (this controller's, when it answered).
  const zones = answered.find((v) => v.signal?.zone_states)?.signal;
  const signal: Signal = {
    status,
    region,
    checks: views.flatMap((v) => (v.signal?.checks as CrossRegionCheck[] | undefined) ?? []),
    vantage_points: Object.fromEntries(views.map((v) => [v.vantage, statusOf(v)])),
    quorum,
    ...Object.fromEntries(ZONE_MEASURES.filter((k) => zones?.[k] !== undefined).map((k) => [k, zones![k]])),
  };
  const notes = views
    .filter((v) => statusOf(v) !== 'ok')
    .map((v) => `${v.vantage}: ${v.signal?.detail ?? v.detail ?? statusOf(v)}`);
  if (failing.length && status !== 'error')
    notes.unshift(
      `${failing.length} of ${views.length} vantage points see the EC2 API fail (quorum ${quorum}): not the region failing`,
    );
  if (notes.length) signal.detail = notes.join('; ');
  return signal;
}

function ec2Client(sdk: Ec2Sdk, region: string, config: ProbeConfig): EC2Client {
  return new sdk.EC2Client({
    region,
    endpoint: config.endpoint,
    maxAttempts: 1,
    ...(config.access_key_id
      ? {
          credentials: {
            accessKeyId: config.access_key_id,
            secretAccessKey: config.secret_access_key!,
            sessionToken: config.session_token,
          },
        }
      : {}),
  });
}

/**
 * `ec2_api` (the `aws_cross_region` signal): several EC2 calls against a
 * region (describe calls, and dry runs of what the failover needs), each
 * retried with backoff inside the probe's deadline, each reported as a
 * `checks` fact. Throttling and auth errors are reported, never counted as
 * the region failing. With `agents`, the same probe on `phoenix agent`s in
 * other regions is asked too, and the vantage points are combined.
 */
export function ec2ApiProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  let client: EC2Client | undefined;
  const region = config.region!;
  const vantage = config.vantage ?? process.env.AWS_REGION ?? 'controller';
  const specs = callSpecs(config);
  const agents = config.agents ?? [];
  const local = config.local ?? true;
  const quorum = Math.min(config.quorum ?? 2, agents.length + (local ? 1 : 0));
  const fromHere = async (context: ProbeRunContext): Promise<Signal> => {
    // The SDK is large; load it only when an ec2_api probe runs.
    const sdk = await import('@aws-sdk/client-ec2');
    const ec2 = (client ??= ec2Client(sdk, region, config));
    // Leave a fifth of the deadline to report what the calls saw.
    const deadline = performance.now() + ms(timeout_s) * 0.8;
    const results = await Promise.all(
      specs.map((spec) => context.limit(() => callWithRetries(ec2, sdk, spec, deadline, context.signal))),
    );
    if (context.signal.aborted) return { status: 'unknown', region, detail: 'aborted' };
    return ec2Signal(region, vantage, results, config.max_latency);
  };
  return {
    name,
    type: 'ec2_api',
    timeout_s,
    async prepare() {
      if (local) await import('@aws-sdk/client-ec2');
    },
    async run(context) {
      if (!agents.length) return fromHere(context);
      const views: Array<Promise<Ec2VantageView>> = agents.map((agent) =>
        context
          .limit(() => askAgent(agent, agent.signal ?? name, Math.max(0.1, timeout_s * 0.9), context))
          .then((v) => ({ vantage: v.vantage, signal: v.signal, detail: v.detail })),
      );
      if (local) views.unshift(fromHere(context).then((signal) => ({ vantage, signal })));
      return combineEc2Vantages(region, await Promise.all(views), quorum);
    },
    async close() {
      client?.destroy();
    },
  };
}
