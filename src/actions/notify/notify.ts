import { redactText } from '../../log/index.js';
import { httpCall } from '../shared/http.js';
import { endpointCheck, envCheck, fillTemplate } from '../shared/net.js';
import { runFacts } from '../http/http.js';
import { StepError, type StepAdapter } from '../types.js';
import { notifyParamsSchema, type NotifyParams } from './config.js';

function target(p: NotifyParams): string {
  return p.channel === 'slack' ? p.webhook_url : p.url;
}

/**
 * A notification names the run. A repeat after a crash is absorbed where the receiver can: PagerDuty's
 * dedup_key is the run id (one incident), a generic webhook gets the step's Idempotency-Key. Slack's
 * incoming webhooks have no such key: a step killed after Slack took the message posts it again.
 */
export const notifyAdapter: StepAdapter<NotifyParams> = {
  type: 'notify',
  schema: notifyParamsSchema,
  describe: (p) => `notify ${p.channel}: ${p.message.slice(0, 80)}`,
  async preflight(p, ctx) {
    const checks = [await endpointCheck(`${p.channel} endpoint`, target(p), ctx.timeoutMs)];
    if (p.channel === 'pagerduty') checks.push(...envCheck([['PagerDuty routing key', p.routing_key]]));
    return checks;
  },
  async run(p, ctx) {
    const facts = runFacts(ctx);
    const text = fillTemplate(p.message, facts);
    let body: unknown;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (p.channel === 'slack') body = { text };
    else if (p.channel === 'pagerduty') {
      body = {
        routing_key: p.routing_key,
        event_action: p.event_action,
        dedup_key: `cloudphoenix-${ctx.runId}`,
        payload: {
          summary: text,
          source: 'cloudphoenix',
          severity: p.severity,
          component: ctx.runbook,
          custom_details: facts,
        },
      };
    } else {
      headers['idempotency-key'] = ctx.idempotencyKey;
      Object.assign(headers, p.headers);
      body = { ...facts, message: text };
    }
    const answer = await httpCall(target(p), {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      timeoutMs: 10_000,
      signal: ctx.signal,
    });
    if (answer.status < 200 || answer.status >= 300) {
      throw new StepError(
        `${p.channel} answered HTTP ${answer.status}: ${redactText(answer.body.slice(0, 200))}`,
      );
    }
    return {
      summary: `${p.channel} notified (HTTP ${answer.status}): ${text.slice(0, 120)}`,
      output: { status: answer.status },
    };
  },
};
