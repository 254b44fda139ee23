import { request } from 'undici';
import type { Signal, SignalStatus, VantageResult } from '../core/index.js';
import type { AgentConfig, ProbeConfig } from '../config/sections/probes.js';
import { SIGNAL_STATUSES } from '../core/index.js';
import { checkHttp, targetOf, type HttpCheckSpec } from './http.js';
import { describeError, ms, untilAborted, type Probe, type ProbeRunContext } from './probe.js';

/** What one vantage point concluded about the public endpoint, `unknown` when it could not tell. */
export interface VantageVerdict {
  vantage: string;
  verdict: 'up' | 'down' | 'unknown';
  detail?: string;
  latency_ms?: number;
  /** The agent's whole signal, when it answered with one. */
  signal?: Signal;
}

/** The agent's answer to GET /v1/signals/:name. */
export interface AgentReport {
  agent: string;
  at: number;
  signal: Signal;
}

function verdictOf(status: SignalStatus): VantageVerdict['verdict'] {
  return status === 'error' ? 'down' : status === 'unknown' ? 'unknown' : 'up';
}

/** Asks a remote `phoenix agent` for its latest view of a signal. Never rejects. */
export async function askAgent(
  agent: AgentConfig,
  signalName: string,
  timeout_s: number,
  context: ProbeRunContext,
): Promise<VantageVerdict> {
  const vantage = agent.name;
  const url = new URL(
    `v1/signals/${encodeURIComponent(signalName)}`,
    agent.url.endsWith('/') ? agent.url : agent.url + '/',
  );
  try {
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(ms(timeout_s))]);
    const response = await untilAborted(
      request(url, {
        headers: { authorization: `Bearer ${agent.token}`, accept: 'application/json' },
        dispatcher: context.http.verified,
        signal,
      }),
      signal,
      (late) => void late.body.dump().catch(() => undefined),
    );
    const text = await response.body.text();
    if (response.statusCode === 401 || response.statusCode === 403)
      return {
        vantage,
        verdict: 'unknown',
        detail: `agent refused the token (${response.statusCode}); check agents[].token`,
      };
    if (response.statusCode !== 200)
      return {
        vantage,
        verdict: 'unknown',
        detail: `agent answered ${response.statusCode}: ${text.slice(0, 80)}`,
      };
    let report: AgentReport;
    try {
      report = JSON.parse(text) as AgentReport;
    } catch {
      return {
        vantage,
        verdict: 'unknown',
        detail: `agent answered something that is not JSON: ${JSON.stringify(text.slice(0, 40))}`,
      };
    }
    const status = report?.signal?.status;
    if (!SIGNAL_STATUSES.includes(status))
      return {
        vantage,
        verdict: 'unknown',
        detail: 'agent answer has no signal.status; is that a phoenix agent?',
      };
    const result: VantageVerdict = { vantage, verdict: verdictOf(status), signal: report.signal };
    if (report.signal.detail) result.detail = String(report.signal.detail);
    if (typeof report.signal.latency_ms === 'number') result.latency_ms = report.signal.latency_ms;
    return result;
  } catch (error) {
    return { vantage, verdict: 'unknown', detail: `agent unreachable: ${describeError(error)}` };
  }
}

/**
 * The structured fact `vantages`: each vantage point that answered, up or down. One that could not
 * tell (agent unreachable, token refused) is no fact about the endpoint and is left out.
 */
function vantagesOf(results: VantageVerdict[]): VantageResult[] {
  return results
    .filter((r) => r.verdict !== 'unknown')
    .map((r) => ({
      name: r.vantage,
      up: r.verdict === 'up',
      ...(r.verdict === 'down' && r.detail ? { detail: r.detail } : {}),
    }));
}

/**
 * `external_uptime`: the public endpoint from several vantage points. The
 * signal is error only when `quorum` vantage points agree it is down, so the
 * controller's own network trouble is not taken for the system's outage.
 */
export function externalUptimeProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  const target: HttpCheckSpec = targetOf(config, 'local');
  const agents = config.agents ?? [];
  const local = config.local ?? true;
  const vantagePoints = agents.length + (local ? 1 : 0);
  const quorum = Math.min(config.quorum ?? 2, vantagePoints);
  // Leave the agents a margin inside the probe's own deadline so their answers arrive.
  const requestTimeout = Math.max(0.1, timeout_s * 0.9);
  return {
    name,
    type: 'external_uptime',
    timeout_s,
    async run(context) {
      const asks: Array<Promise<VantageVerdict>> = agents.map((agent) =>
        context.limit(() => askAgent(agent, agent.signal ?? name, requestTimeout, context)),
      );
      if (local)
        asks.push(
          context.limit(async () => {
            const r = await checkHttp(target, requestTimeout, context);
            return {
              vantage: 'local',
              verdict: r.ok ? 'up' : 'down',
              detail: r.reason,
              latency_ms: r.latency_ms,
            } satisfies VantageVerdict;
          }),
        );
      const results = await Promise.all(asks);
      const up = results.filter((r) => r.verdict === 'up').length;
      const down = results.filter((r) => r.verdict === 'down');
      const answered = up + down.length;
      let status: SignalStatus;
      if (answered === 0) status = 'unknown';
      else if (down.length >= quorum) status = 'error';
      else if (down.length > 0) status = 'degraded';
      else status = 'ok';
      const signal: Signal = { status, up, total: results.length, down: down.length, quorum };
      signal.vantage_points = Object.fromEntries(results.map((r) => [r.vantage, r.verdict]));
      signal.vantages = vantagesOf(results);
      const notes = results
        .filter((r) => r.verdict !== 'up' && r.detail)
        .map((r) => `${r.vantage}: ${r.detail}`);
      if (status === 'degraded')
        notes.unshift(`${down.length} of ${results.length} vantage points see it down (quorum ${quorum})`);
      if (notes.length) signal.detail = notes.join('; ');
      return signal;
    },
  };
}
