import { z } from 'zod';
import { durationSchema } from '../../config/sections/core.js';

const record = {
  /** Fully qualified, e.g. app.example.com (a trailing dot is optional). */
  name: z.string().min(1),
  type: z.enum(['A', 'AAAA', 'CNAME', 'TXT']),
  /** One value, or several for a multi-address record. */
  value: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .transform((v) => (Array.isArray(v) ? v : [v])),
  /** Seconds clients may cache the answer: the report adds it to the RTO. */
  ttl: z.number().int().min(1).default(60),
};

export const route53ParamsSchema = z
  .object({
    provider: z.literal('route53'),
    hosted_zone_id: z.string().min(1),
    region: z.string().default('us-east-1'),
    /** For tests and Route 53-compatible servers. */
    endpoint: z.string().url().optional(),
    access_key_id: z.string().optional(),
    secret_access_key: z.string().optional(),
    /** Wait until the change is INSYNC on every Route 53 server. */
    wait: z.boolean().default(true),
    poll_interval: durationSchema.default(5),
    ...record,
  })
  .strict();

export const rfc2136ParamsSchema = z
  .object({
    provider: z.literal('rfc2136'),
    /** The primary server that accepts updates (BIND, PowerDNS, Knot). */
    server: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(53),
    zone: z.string().min(1),
    tsig: z
      .object({
        name: z.string().min(1),
        algorithm: z.enum(['hmac-sha256', 'hmac-sha512', 'hmac-sha1', 'hmac-md5']).default('hmac-sha256'),
        /** base64, from ${VAR}. */
        secret: z.string().min(1),
      })
      .strict(),
    nsupdate: z.string().default('nsupdate'),
    /** Query the server afterwards until it answers with the new value. */
    verify: z.boolean().default(true),
    ...record,
  })
  .strict();

export const cloudflareParamsSchema = z
  .object({
    provider: z.literal('cloudflare'),
    zone_id: z.string().min(1),
    /** An API token with DNS edit rights, from ${VAR}. */
    api_token: z.string().min(1),
    api_base: z.string().url().default('https://api.cloudflare.com/client/v4'),
    proxied: z.boolean().default(false),
    ...record,
  })
  .strict();

export const dnsParamsSchema = z.discriminatedUnion('provider', [
  route53ParamsSchema,
  rfc2136ParamsSchema,
  cloudflareParamsSchema,
]);

export type Route53Params = z.output<typeof route53ParamsSchema>;
export type Rfc2136Params = z.output<typeof rfc2136ParamsSchema>;
export type CloudflareParams = z.output<typeof cloudflareParamsSchema>;
export type DnsParams = z.output<typeof dnsParamsSchema>;
