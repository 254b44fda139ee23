import { z } from 'zod';

const message = z.string().min(1);

/** Tell people: a Slack incoming webhook, PagerDuty Events API v2, or a generic JSON webhook. */
export const notifyParamsSchema = z.discriminatedUnion('channel', [
  z.object({ channel: z.literal('slack'), webhook_url: z.string().url(), message }).strict(),
  z
    .object({
      channel: z.literal('pagerduty'),
      /** The integration's routing key, from ${VAR}. */
      routing_key: z.string().min(1),
      url: z.string().url().default('https://events.pagerduty.com/v2/enqueue'),
      event_action: z.enum(['trigger', 'acknowledge', 'resolve']).default('trigger'),
      severity: z.enum(['critical', 'error', 'warning', 'info']).default('critical'),
      message,
    })
    .strict(),
  z
    .object({
      channel: z.literal('webhook'),
      url: z.string().url(),
      headers: z.record(z.string(), z.string()).default({}),
      message,
    })
    .strict(),
]);

export type NotifyParams = z.output<typeof notifyParamsSchema>;
