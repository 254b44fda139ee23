import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Signal } from '../core/index.js';
import type { ProbeConfig } from '../config/sections/probes.js';
import { describeError, ms, round, type Probe } from './probe.js';

function describeAwsError(error: unknown): string {
  const e = error as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    $response?: unknown;
  };
  const status = e?.$metadata?.httpStatusCode;
  if (e?.name === 'AbortError') return 'aborted';
  // The SDK's deserializer fails with a SyntaxError-like message when the body is not the EC2 XML.
  if (
    /Deserialization|XML|Unexpected|char|parse/i.test(`${e?.name} ${e?.message}`) &&
    !e?.name?.endsWith('Exception')
  )
    return `EC2 answered something that is not the DescribeAvailabilityZones XML${status ? ` (HTTP ${status})` : ''}`;
  if (status)
    return `EC2 answered ${status}: ${e.name}${e.message && e.message !== 'UnknownError' ? ' ' + e.message.split('\n')[0] : ''}`;
  return describeError(error);
}

/**
 * `ec2_api` (the `aws_cross_region` signal): whether the EC2 API of a region
 * answers DescribeAvailabilityZones, and whether its zones are available.
 * An API that refuses or answers errors is `error`; one that does not answer
 * in time is `unknown`, because our own network may be the slow part.
 */
export function ec2ApiProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  let client: EC2Client | undefined;
  const region = config.region!;
  return {
    name,
    type: 'ec2_api',
    timeout_s,
    async prepare() {
      await import('@aws-sdk/client-ec2');
    },
    async run(context) {
      // The SDK is large; load it only when an ec2_api probe runs.
      const { EC2Client, DescribeAvailabilityZonesCommand } = await import('@aws-sdk/client-ec2');
      client ??= new EC2Client({
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
      const ec2 = client;
      const started = performance.now();
      try {
        const answer = await context.limit(() =>
          ec2.send(new DescribeAvailabilityZonesCommand({}), { abortSignal: context.signal }),
        );
        const latency_ms = round(performance.now() - started);
        const zones = answer.AvailabilityZones ?? [];
        const available = zones.filter((z) => z.State === 'available' || z.State === 'information').length;
        const signal: Signal = {
          status: 'ok',
          region,
          latency_ms,
          zones: zones.length,
          zones_available: available,
        };
        const troubled = zones.filter((z) => !(z.State === 'available' || z.State === 'information'));
        if (zones.length === 0) {
          signal.status = 'error';
          signal.detail = `${region}: DescribeAvailabilityZones listed no zones`;
        } else if (troubled.length) {
          signal.status = available === 0 ? 'error' : 'degraded';
          signal.detail = `${region}: ${troubled.map((z) => `${z.ZoneName} ${z.State}`).join(', ')}`;
        } else if (config.max_latency !== undefined && latency_ms > config.max_latency * 1000) {
          signal.status = 'degraded';
          signal.detail = `${region}: EC2 API took ${latency_ms} ms > ${ms(config.max_latency)} ms`;
        }
        return signal;
      } catch (error) {
        if (context.signal.aborted) return { status: 'unknown', region, detail: 'aborted' };
        return { status: 'error', region, detail: `${region}: ${describeAwsError(error)}` };
      }
    },
    async close() {
      client?.destroy();
    },
  };
}
