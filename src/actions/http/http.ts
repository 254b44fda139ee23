import { redactText, redactUrl } from '../../log/index.js';
import { httpCall } from '../shared/http.js';
import { endpointCheck, fillTemplate } from '../shared/net.js';
import { StepError, type StepAdapter, type StepContext } from '../types.js';
import { httpParamsSchema, type HttpParams } from './config.js';

export function runFacts(ctx: StepContext): Record<string, string> {
  return { run_id: ctx.runId, runbook: ctx.runbook, stage: ctx.stage, step: ctx.step };
}

/**
 * Sends the request once per step: the answer is kept in the step's state (in the store), so a step
 * resumed after a crash, on this host or another, does not start a second Jenkins job. The Idempotency-Key header (the step's key:
 * the same after a crash) lets a receiver that supports it drop a duplicate sent in the instant before
 * the crash, between the answer and the save that keeps it.
 */
export const httpAdapter: StepAdapter<HttpParams> = {
  type: 'http',
  schema: httpParamsSchema,
  describe: (p) => `${p.method} ${redactUrl(p.url)}`,
  preflight: async (p, ctx) => [await endpointCheck('webhook', p.url, ctx.timeoutMs)],
  async run(p, ctx) {
    const earlier = await ctx.state.load<{ status?: number; body?: string }>();
    if (earlier?.status !== undefined) {
      return {
        summary: `${p.method} ${redactUrl(p.url)} already answered ${earlier.status}; not sent again`,
        output: { ...earlier, repeated: false },
      };
    }
    const facts = runFacts(ctx);
    const body =
      p.body === undefined
        ? undefined
        : typeof p.body === 'string'
          ? fillTemplate(p.body, facts)
          : fillTemplate(JSON.stringify(p.body), facts);
    const headers: Record<string, string> = { 'idempotency-key': ctx.idempotencyKey, ...p.headers };
    if (typeof p.body === 'object' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
    if (p.basic_auth)
      headers.authorization = `Basic ${Buffer.from(`${p.basic_auth.username}:${p.basic_auth.password}`).toString('base64')}`;
    const answer = await httpCall(p.url, {
      method: p.method,
      headers,
      body,
      timeoutMs: p.timeout_ms,
      signal: ctx.signal,
    });
    const ok = p.expect_status
      ? p.expect_status.includes(answer.status)
      : answer.status >= 200 && answer.status < 300;
    if (!ok)
      throw new StepError(
        `${p.method} ${redactUrl(p.url)} answered HTTP ${answer.status}: ${redactText(answer.body.slice(0, 200))}`,
      );
    await ctx.state.save({ status: answer.status, body: answer.body.slice(0, 2000) });
    return {
      summary: `${p.method} ${redactUrl(p.url)} answered ${answer.status}`,
      output: { status: answer.status, body: answer.body.slice(0, 2000) },
    };
  },
};
