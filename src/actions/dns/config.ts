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
    /**
     * For a name served by routed records (failover, weighted…): the SetIdentifier of the record this change
     * replaces. Its routing policy and health check are kept; only its answer changes.
     */
    set_identifier: z.string().min(1).optional(),
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
    /** Enterprise zones accept a 30 s TTL; others 60 s at least. */
    enterprise: z.boolean().default(false),
    ...record,
  })
  .strict()
  .superRefine((p, ctx) => {
    // Cloudflare: ttl 1 means automatic; otherwise 60-86400 (30 on Enterprise).
    const min = p.enterprise ? 30 : 60;
    if (p.ttl !== 1 && (p.ttl < min || p.ttl > 86400))
      ctx.addIssue({
        code: 'custom',
        path: ['ttl'],
        message: `Cloudflare accepts ttl 1 (automatic) or ${min}-86400 seconds${p.enterprise ? '' : ' (30 on Enterprise: set enterprise: true)'}; got ${p.ttl}`,
      });
  });

/** Azure Resource Manager access: a managed identity / workload identity by default (DefaultAzureCredential). */
const armAccess = {
  subscription_id: z.string().min(1),
  resource_group: z.string().min(1),
  /** A bearer token from ${VAR} instead of DefaultAzureCredential (CI, short-lived tokens). */
  access_token: z.string().min(1).optional(),
  /** ARM base URL override (sovereign clouds; a local stand-in in tests). */
  arm_endpoint: z.string().url().optional(),
  /** CA bundle that signs `arm_endpoint`'s certificate (private endpoints, tests). */
  ca_file: z.string().min(1).optional(),
};

/**
 * Azure Traffic Manager: the public name already CNAMEs to the profile, so
 * the switch is an endpoint status flip inside a profile whose control plane
 * is in the DR cloud. `enable` gets the traffic; `disable` (the primary) stops it.
 */
export const trafficManagerParamsSchema = z
  .object({
    provider: z.literal('azure_traffic_manager'),
    ...armAccess,
    profile: z.string().min(1),
    /**
     * Each endpoint's type is read from the profile (a profile may mix Azure, external and nested endpoints);
     * this is only the fallback for an endpoint listed without one.
     */
    endpoint_type: z.enum(['AzureEndpoints', 'ExternalEndpoints', 'NestedEndpoints']).optional(),
    enable: z.array(z.string().min(1)).default([]),
    disable: z.array(z.string().min(1)).default([]),
    /**
     * Priority routing: the endpoints' new priorities (1 = serves), e.g. { azure-dr: 1, aws-primary: 2 }.
     * Priorities are unique in a profile, so an endpoint holding a wanted value is moved aside first.
     */
    priorities: z.record(z.string().min(1), z.number().int().min(1).max(1000)).default({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!p.enable.length && !Object.keys(p.priorities).length)
      ctx.addIssue({
        code: 'custom',
        path: ['enable'],
        message:
          'name the endpoints to enable, or their new priorities (priorities: { DR-ENDPOINT: 1, ... })',
      });
    const values = Object.values(p.priorities);
    if (new Set(values).size !== values.length)
      ctx.addIssue({
        code: 'custom',
        path: ['priorities'],
        message: 'Traffic Manager priorities are unique within a profile; give each endpoint its own',
      });
  });

/** Azure DNS record set (its control plane is in Azure, not in the failing AWS region). */
export const azureDnsParamsSchema = z
  .object({
    provider: z.literal('azure_dns'),
    ...armAccess,
    zone: z.string().min(1),
    ...record,
  })
  .strict();

/**
 * Route 53 Application Recovery Controller routing controls: a data-plane
 * switch (UpdateRoutingControlStates on the cluster's regional endpoints) that
 * works while the Route 53 control plane in us-east-1 does not. The failover
 * records and their health checks bound to the controls are prepared beforehand.
 */
export const route53ArcParamsSchema = z
  .object({
    provider: z.literal('route53_arc'),
    /** The cluster's endpoints with their regions, tried in turn (ARC's guidance: any one may be down). */
    cluster_endpoints: z
      .array(z.object({ endpoint: z.string().url(), region: z.string().min(1) }).strict())
      .min(1),
    routing_controls: z
      .array(z.object({ arn: z.string().min(1), state: z.enum(['On', 'Off']) }).strict())
      .min(1),
    /**
     * Break glass: the safety rules (ARNs) this switch may override, as ARC's `SafetyRulesToOverride`. Empty
     * by default, so a change the control panel's rules refuse fails with the rule named.
     */
    safety_rules_to_override: z.array(z.string().min(1)).default([]),
    access_key_id: z.string().optional(),
    secret_access_key: z.string().optional(),
    /** The public name the controls steer, for the report and its TTL. */
    name: z.string().min(1).optional(),
    ttl: z.number().int().min(0).default(60),
  })
  .strict();

export const dnsParamsSchema = z.discriminatedUnion('provider', [
  route53ParamsSchema,
  rfc2136ParamsSchema,
  cloudflareParamsSchema,
  trafficManagerParamsSchema,
  azureDnsParamsSchema,
  route53ArcParamsSchema,
]);

export type Route53Params = z.output<typeof route53ParamsSchema>;
export type Rfc2136Params = z.output<typeof rfc2136ParamsSchema>;
export type CloudflareParams = z.output<typeof cloudflareParamsSchema>;
export type TrafficManagerParams = z.output<typeof trafficManagerParamsSchema>;
export type AzureDnsParams = z.output<typeof azureDnsParamsSchema>;
export type Route53ArcParams = z.output<typeof route53ArcParamsSchema>;
export type DnsParams = z.output<typeof dnsParamsSchema>;
