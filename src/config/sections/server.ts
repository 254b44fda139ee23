import { isIP } from 'node:net';
import { z } from 'zod';
import { durationSchema, durationWithin } from './core.js';

const tokenSchema = z
  .object({
    /** Who holds it: shown in the audit trail (`approved by`), never the token itself. */
    name: z.string().min(1),
    /** The bearer token; write `${VAR}` so it never lives in the file. */
    token: z
      .string()
      .min(16, 'a token needs at least 16 characters; generate one with `openssl rand -hex 24`'),
    /**
     * `read` sees everything; `operate` may also approve, abort, record changes and post webhooks;
     * `webhook` may only post to the webhook (give Alertmanager this one).
     */
    role: z.enum(['read', 'operate', 'webhook']),
  })
  .strict();

const rateLimitSchema = z
  .object({
    /** Requests a client may make to the mutating endpoints per window. */
    max: z.number().int().positive().optional(),
    /** Failed requests (bad token, bad signature, replay) an address may make per window before 429. */
    failures: z.number().int().positive().optional(),
    window: durationWithin(1, 86400).optional(),
  })
  .strict();

const webhookSchema = z
  .object({
    /**
     * Shared secret for senders that sign: `X-Phoenix-Timestamp: <Unix seconds>` and
     * `X-Phoenix-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. A bearer token of the
     * webhook or operate role is accepted with or without it.
     */
    secret: z.string().min(16, 'a webhook secret needs at least 16 characters').optional(),
    /** Labels an alert must carry to concern the watched system (all must match). Empty: every alert does. */
    match: z.record(z.string(), z.string()).optional(),
    /** The same alert (fingerprint) firing again within this window does not start another cycle. */
    dedup_window: durationWithin(0, 86400).optional(),
  })
  .strict();

const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address or CIDR (`10.0.0.0/8`, `fd00::/8`) of a proxy to trust, or a named range. */
const proxyAddressSchema = z.string().refine(
  (text) => {
    if (PROXY_RANGES.has(text)) return true;
    const [address, bits, ...rest] = text.split('/');
    const family = isIP(address);
    if (!family || rest.length) return false;
    if (bits === undefined) return true;
    const max = family === 4 ? 32 : 128;
    return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
  },
  { message: 'write an IP address, a CIDR (e.g. 10.0.0.0/8) or loopback, linklocal, uniquelocal' },
);

/** HTTP API, webhooks and dashboard (issue: HTTP API and dashboard). */
export const serverSchema = z
  .object({
    enabled: z.boolean().optional(),
    /** `host:port`; port 0 picks a free one. Default 127.0.0.1:8080. */
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'write host:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080')
      .refine((listen) => Number(listen.slice(listen.lastIndexOf(':') + 1)) <= 65535, {
        message: 'the port is out of range; allowed 0 (any free port) to 65535',
      })
      .optional(),
    tokens: z.array(tokenSchema).optional(),
    /** What a request without a token may do. Default `none`: every API call needs a token. */
    anonymous: z.enum(['none', 'read', 'operate']).optional(),
    webhook: webhookSchema.optional(),
    cors: z
      .object({
        /** Origins allowed to call the API from a browser. Empty (the default): none. */
        origins: z.array(z.string().url()).optional(),
      })
      .strict()
      .optional(),
    rate_limit: rateLimitSchema.optional(),
    /**
     * Behind an ingress or load balancer: which proxies' `X-Forwarded-For` to believe, so rate limits and the audit
     * trail see the client's address, not the proxy's. `true` (every hop: only when nothing else can reach the port),
     * a number of hops, or the proxies' addresses/CIDRs (also `loopback`, `linklocal`, `uniquelocal`). Default: none.
     */
    trust_proxy: z
      .union([
        z.boolean(),
        z.number().int().min(1).max(16),
        z.array(proxyAddressSchema).min(1),
        // One address or range alone (`trust_proxy: loopback`), as the README writes it.
        proxyAddressSchema.transform((one) => [one]),
      ])
      .optional(),
    /** /readyz fails when the last cycle is older than this (default: three intervals). */
    stale_after: durationWithin(1, 7 * 86400).optional(),
    dashboard: z.boolean().optional(),
  })
  .strict();

export type ServerSection = z.output<typeof serverSchema>;

/** Where on-call hears from the controller. Secrets (webhook URLs, routing keys) only as `${VAR}`. */
const channelSchema = z.discriminatedUnion('channel', [
  z
    .object({
      channel: z.literal('slack'),
      /** The incoming webhook URL (it is the secret). */
      webhook_url: z.string().url(),
    })
    .strict(),
  z
    .object({
      channel: z.literal('pagerduty'),
      /** The Events API v2 integration's routing key. */
      routing_key: z.string().min(1),
      /** Default https://events.pagerduty.com/v2/enqueue. */
      url: z.string().url().optional(),
    })
    .strict(),
  z
    .object({
      channel: z.literal('webhook'),
      url: z.string().url(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .strict(),
]);

export const NOTIFIED_DECISIONS = ['self_heal', 'region_failover', 'dr_failover', 'escalate'] as const;

/**
 * Notifications (decisions to act, escalations, runbook results, readiness) sent through
 * the `notify` step's channels: Slack, PagerDuty Events v2, a generic JSON webhook.
 */
export const notificationsSchema = z
  .object({
    channels: z.array(channelSchema).min(1, 'list at least one channel (slack, pagerduty or webhook)'),
    /** Decisions that notify. Default: every action but `none`. */
    decisions: z.array(z.enum(NOTIFIED_DECISIONS)).optional(),
    /** The same decision is sent again only after this long (default 30m); a different one at once. */
    repeat_after: durationSchema.optional(),
    /** Runbook runs that end (succeeded, failed, aborted, cleared) or wait for approval. Default true. */
    runbooks: z.boolean().optional(),
    /** Runbook readiness turning not ready, and ready again. Default true. */
    readiness: z.boolean().optional(),
    /** One delivery's limit (default 10s). */
    timeout: durationSchema.optional(),
  })
  .strict();

export type NotificationsSection = z.output<typeof notificationsSchema>;
