import { request } from 'undici';
import type { FailingService, Signal } from '../core/index.js';
import type { HttpTargetConfig, ProbeConfig } from '../config/sections/probes.js';
import {
  describeError,
  failureKind,
  ms,
  round,
  untilAborted,
  type Probe,
  type ProbeRunContext,
} from './probe.js';

const BODY_LIMIT = 256 * 1024;

export interface HttpCheckResult {
  name: string;
  ok: boolean;
  /** Answered in time with the expected status and body, but slower than max_latency. */
  slow: boolean;
  status_code?: number;
  latency_ms?: number;
  reason?: string;
  /** The failure in a few words, for the structured fact `failing`: `timeout`, `HTTP 503`, `connection refused`. */
  failure?: string;
}

export interface HttpCheckSpec extends HttpTargetConfig {
  name: string;
}

/** One HTTP request judged against its expectations. Never rejects. */
export async function checkHttp(
  target: HttpCheckSpec,
  timeout_s: number,
  context: ProbeRunContext,
): Promise<HttpCheckResult> {
  if (context.signal.aborted)
    return { name: target.name, ok: false, slow: false, reason: 'not run: deadline passed' };
  const signal = AbortSignal.any([context.signal, AbortSignal.timeout(ms(timeout_s))]);
  const started = performance.now();
  try {
    const response = await untilAborted(
      request(target.url, {
        method: target.method ?? 'GET',
        headers: { 'user-agent': 'cloudphoenix-probe', ...target.headers },
        dispatcher: target.insecure ? context.http.insecure : context.http.verified,
        signal,
        headersTimeout: ms(timeout_s),
        bodyTimeout: ms(timeout_s),
      }),
      signal,
      (late) => void late.body.dump().catch(() => undefined),
    );
    let body = '';
    if (target.body_match !== undefined) body = await readLimited(response.body);
    else await response.body.dump();
    const latency_ms = round(performance.now() - started);
    const code = response.statusCode;
    const expected = target.expect_status ? target.expect_status.includes(code) : code >= 200 && code < 400;
    const result: HttpCheckResult = {
      name: target.name,
      ok: true,
      slow: false,
      status_code: code,
      latency_ms,
    };
    if (!expected) {
      result.ok = false;
      result.reason = `status ${code}, expected ${target.expect_status?.join('/') ?? '200-399'}`;
      result.failure = `HTTP ${code}`;
    } else if (target.body_match !== undefined && !new RegExp(target.body_match).test(body)) {
      result.ok = false;
      result.reason = `body does not match /${target.body_match}/ (got ${JSON.stringify(body.slice(0, 60))})`;
      result.failure = 'unexpected body';
    } else if (target.max_latency !== undefined && latency_ms > target.max_latency * 1000) {
      result.slow = true;
      result.reason = `slow: ${latency_ms} ms > ${ms(target.max_latency)} ms`;
      result.failure = 'slow';
    }
    return result;
  } catch (error) {
    const timedOut = signal.aborted && !context.signal.aborted;
    return {
      name: target.name,
      ok: false,
      slow: false,
      latency_ms: round(performance.now() - started),
      reason: timedOut ? `no answer within ${ms(timeout_s)} ms` : describeError(error),
      failure: timedOut ? 'timeout' : failureKind(error),
    };
  }
}

async function readLimited(body: AsyncIterable<Buffer | string> & { destroy?: () => void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(buf);
    size += buf.length;
    if (size >= BODY_LIMIT) {
      body.destroy?.();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function targetOf(config: ProbeConfig, name: string): HttpCheckSpec {
  return {
    name,
    url: config.url!,
    method: config.method,
    expect_status: config.expect_status,
    body_match: config.body_match,
    max_latency: config.max_latency,
    headers: config.headers,
    insecure: config.insecure,
  };
}

/** `http`: one URL. error when it fails, degraded when slower than max_latency. */
export function httpProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  const target = targetOf(config, name);
  return {
    name,
    type: 'http',
    timeout_s,
    async run(context) {
      const result = await context.limit(() => checkHttp(target, timeout_s, context));
      const signal: Signal = {
        status: !result.ok ? 'error' : result.slow ? 'degraded' : 'ok',
        latency_ms: result.latency_ms,
      };
      if (result.status_code !== undefined) signal.status_code = result.status_code;
      if (result.reason) signal.detail = `${target.url}: ${result.reason}`;
      return signal;
    },
  };
}

/** Degraded above `degraded_share` failing, error at or above `error_share`. */
export function statusFromShare(failing: number, total: number, degraded = 0, error = 0.5): Signal['status'] {
  if (total === 0) return 'unknown';
  const share = failing / total;
  if (share >= error && failing > 0) return 'error';
  if (share > degraded) return 'degraded';
  return 'ok';
}

const FAILING_LISTED = 10;

/** `http_checks`: a list of services (internal services, the DR site's endpoints); status from the share failing. */
export function httpChecksProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  const targets: HttpCheckSpec[] = (config.targets ?? []).map((t, i) => ({
    ...t,
    name: t.name ?? (new URL(t.url).host + new URL(t.url).pathname || `target-${i + 1}`),
  }));
  const targetTimeout = config.target_timeout ?? timeout_s;
  return {
    name,
    type: 'http_checks',
    timeout_s,
    async run(context) {
      const results = await Promise.all(
        targets.map((target) => context.limit(() => checkHttp(target, targetTimeout, context))),
      );
      // Slow services count as failing: a health check that answers late is what users feel.
      const failing = results.filter((r) => !r.ok || r.slow);
      const latencies = results.filter((r) => r.ok).map((r) => r.latency_ms ?? 0);
      const signal: Signal = {
        status: statusFromShare(failing.length, results.length, config.degraded_share, config.error_share),
        healthy: results.length - failing.length,
        total: results.length,
      };
      if (latencies.length) signal.latency_ms = round(Math.max(...latencies));
      if (failing.length) {
        const listed: FailingService[] = failing
          .slice(0, FAILING_LISTED)
          .map((r) => ({ name: r.name, reason: r.failure ?? r.reason ?? 'failed' }));
        signal.failing = listed;
        signal.detail =
          `${failing.length}/${results.length} failing: ` +
          failing
            .slice(0, 3)
            .map((r) => `${r.name} (${r.reason})`)
            .join('; ') +
          (failing.length > 3 ? `; and ${failing.length - 3} more` : '');
      }
      return signal;
    },
  };
}
