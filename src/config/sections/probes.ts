import { z } from 'zod';
import { durationSchema, durationWithin } from './core.js';

/**
 * Live probe configuration. Each entry of `probes.signals` produces the signal
 * of that name; `type` says how it is measured, so any probe type can feed any
 * signal. Every object is strict so a misspelt key is reported with a suggestion.
 */

export const PROBE_TYPES = [
  'http_checks',
  'external_uptime',
  'postgres_replication',
  'kubernetes_nodes',
  'ec2_api',
  'http',
  'tcp',
  'dns',
  'tls',
] as const;
export type ProbeType = (typeof PROBE_TYPES)[number];

/** EC2 read calls an ec2_api probe may make (each proves its own part of the API answers). */
export const EC2_DESCRIBE_CALLS = [
  'DescribeAvailabilityZones',
  'DescribeInstances',
  'DescribeVolumes',
  'DescribeSubnets',
  'DescribeSecurityGroups',
  'DescribeLaunchTemplates',
] as const;
/** EC2 calls the failover may need, checked with `DryRun` (DryRunOperation means it would have succeeded). */
export const EC2_DRY_RUN_CALLS = ['RunInstances', 'CreateVolume', 'StartInstances', 'StopInstances'] as const;

const ec2DryRunSchema = z
  .object({
    operation: z.enum(EC2_DRY_RUN_CALLS),
    /** The call's own parameters as the SDK names them, e.g. { ImageId, InstanceType, SubnetId }. */
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const share = z.number().min(0).max(1);
const statusCodes = z.array(z.number().int().min(100).max(599)).min(1);

export const httpTargetSchema = z
  .object({
    name: z.string().min(1).optional(),
    url: z.url({ protocol: /^https?$/ }),
    method: z.enum(['GET', 'HEAD', 'POST']).optional(),
    /** Status codes that count as healthy; 200-399 when absent. */
    expect_status: statusCodes.optional(),
    /** A regular expression the body must match. */
    body_match: z.string().optional(),
    /** Slower than this counts as failing. */
    max_latency: durationSchema.optional(),
    headers: z.record(z.string(), z.string()).optional(),
    /** Accept self-signed certificates (lab, internal CAs). */
    insecure: z.boolean().optional(),
  })
  .strict();

export const agentSchema = z
  .object({
    name: z.string().min(1),
    /** Base URL of a `phoenix agent`, e.g. http://agent-eu.example.net:9400 */
    url: z.url({ protocol: /^https?$/ }),
    token: z.string().min(1),
    /** The signal on the agent that checks the public endpoint (default: this signal's name). */
    signal: z.string().min(1).optional(),
  })
  .strict();

export const kubernetesClusterSchema = z
  .object({
    server: z.url({ protocol: /^https?$/ }),
    token: z.string().min(1).optional(),
    ca_file: z.string().optional(),
    insecure: z.boolean().optional(),
  })
  .strict();

/** Which keys each probe type reads; any other key on an entry is reported. */
const KEYS_BY_TYPE: Record<ProbeType, string[]> = {
  http_checks: ['targets', 'target_timeout', 'degraded_share', 'error_share'],
  external_uptime: [
    'url',
    'method',
    'expect_status',
    'body_match',
    'max_latency',
    'headers',
    'insecure',
    'local',
    'agents',
    'quorum',
  ],
  postgres_replication: ['primary', 'standby', 'degraded_lag', 'error_lag', 'degraded_bytes', 'error_bytes'],
  kubernetes_nodes: ['kubeconfig', 'context', 'cluster', 'crashloop', 'degraded_share', 'error_share'],
  ec2_api: [
    'region',
    'endpoint',
    'access_key_id',
    'secret_access_key',
    'session_token',
    'max_latency',
    'calls',
    'dry_run',
    'vantage',
    'local',
    'agents',
    'quorum',
  ],
  http: ['url', 'method', 'expect_status', 'body_match', 'max_latency', 'headers', 'insecure'],
  tcp: ['host', 'port', 'max_latency'],
  dns: ['name', 'record_type', 'server', 'expect', 'max_latency'],
  tls: ['host', 'port', 'servername', 'degraded_days', 'error_days'],
};
const REQUIRED_BY_TYPE: Record<ProbeType, string[]> = {
  http_checks: ['targets'],
  external_uptime: ['url'],
  postgres_replication: [],
  kubernetes_nodes: [],
  ec2_api: ['region'],
  http: ['url'],
  tcp: ['host', 'port'],
  dns: ['name'],
  tls: ['host'],
};
const COMMON_KEYS = ['type', 'timeout'];

export const probeSchema = z
  .object({
    type: z.enum(PROBE_TYPES),
    /** The whole probe's deadline; slower means `unknown`. Default: probes.timeout. */
    timeout: durationSchema.optional(),
    // http_checks
    targets: z.array(httpTargetSchema).min(1).optional(),
    /** Per-request deadline for http_checks targets; a target slower than this is failing. */
    target_timeout: durationSchema.optional(),
    /** Share failing above which the signal is degraded (default 0: any failure). */
    degraded_share: share.optional(),
    /** Share failing at or above which the signal is error (default 0.5). */
    error_share: share.optional(),
    // http, external_uptime
    url: z.url({ protocol: /^https?$/ }).optional(),
    method: z.enum(['GET', 'HEAD', 'POST']).optional(),
    expect_status: statusCodes.optional(),
    body_match: z.string().optional(),
    max_latency: durationSchema.optional(),
    headers: z.record(z.string(), z.string()).optional(),
    insecure: z.boolean().optional(),
    // external_uptime, ec2_api
    /** Whether this process is a vantage point too (default true). */
    local: z.boolean().optional(),
    agents: z.array(agentSchema).optional(),
    /** Vantage points that must agree the endpoint (ec2_api: the region's API) is down before the signal is error (default 2, at most the number of vantage points). */
    quorum: z.number().int().min(1).optional(),
    // postgres_replication
    primary: z.string().min(1).optional(),
    standby: z.string().min(1).optional(),
    degraded_lag: durationSchema.optional(),
    error_lag: durationSchema.optional(),
    degraded_bytes: z.number().int().min(0).optional(),
    error_bytes: z.number().int().min(0).optional(),
    // kubernetes_nodes
    kubeconfig: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    cluster: kubernetesClusterSchema.optional(),
    /** Also count pods in CrashLoopBackOff (reported, not scored: it points at our own code). */
    crashloop: z.boolean().optional(),
    // ec2_api
    region: z.string().min(1).optional(),
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    access_key_id: z.string().min(1).optional(),
    secret_access_key: z.string().min(1).optional(),
    session_token: z.string().min(1).optional(),
    /** Describe calls to make (default DescribeAvailabilityZones, DescribeInstances, DescribeVolumes). */
    calls: z.array(z.enum(EC2_DESCRIBE_CALLS)).min(1).optional(),
    /** Calls the failover needs, made with DryRun. */
    dry_run: z.array(ec2DryRunSchema).optional(),
    /** Where this process calls from, reported as `checks[].from` (default: $AWS_REGION, else "controller"). */
    vantage: z.string().min(1).optional(),
    // tcp, tls
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    servername: z.string().optional(),
    degraded_days: z.number().min(0).optional(),
    error_days: z.number().min(0).optional(),
    // dns
    name: z.string().min(1).optional(),
    record_type: z.enum(['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'NS']).optional(),
    /** `host` or `host:port` of the resolver to ask; the system's resolvers when absent. */
    server: z.string().min(1).optional(),
    /** Values the answer must contain. */
    expect: z.array(z.string()).optional(),
  })
  .strict()
  .superRefine((probe, ctx) => {
    const allowed = new Set([...COMMON_KEYS, ...KEYS_BY_TYPE[probe.type]]);
    for (const key of Object.keys(probe)) {
      if (!allowed.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `"${key}" does not apply to a ${probe.type} probe; keys for ${probe.type}: ${[...allowed].join(', ')}`,
        });
      }
    }
    for (const key of REQUIRED_BY_TYPE[probe.type]) {
      if ((probe as Record<string, unknown>)[key] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `a ${probe.type} probe needs "${key}"; add it`,
        });
    }
    if (probe.type === 'postgres_replication' && !probe.primary && !probe.standby)
      ctx.addIssue({
        code: 'custom',
        path: ['primary'],
        message: 'a postgres_replication probe needs "primary", "standby" or both (connection strings)',
      });
    // kubernetes_nodes with neither kubeconfig nor cluster: the pod's own service account (as the actions).
    if (probe.type === 'external_uptime' && probe.local === false && !probe.agents?.length)
      ctx.addIssue({
        code: 'custom',
        path: ['agents'],
        message: 'with local: false an external_uptime probe needs at least one agent',
      });
    if (probe.type === 'ec2_api' && Boolean(probe.access_key_id) !== Boolean(probe.secret_access_key))
      ctx.addIssue({
        code: 'custom',
        path: ['secret_access_key'],
        message:
          'give access_key_id and secret_access_key together, or neither (credentials from the environment)',
      });
    const pairs: Array<[string, string, boolean]> = [
      ['degraded_share', 'error_share', true],
      ['degraded_lag', 'error_lag', true],
      ['degraded_bytes', 'error_bytes', true],
      ['degraded_days', 'error_days', false],
    ];
    for (const [low, high, rising] of pairs) {
      const a = (probe as Record<string, unknown>)[low];
      const b = (probe as Record<string, unknown>)[high];
      if (typeof a === 'number' && typeof b === 'number' && (rising ? a > b : a < b))
        ctx.addIssue({
          code: 'custom',
          path: [high],
          message: rising
            ? `${high} (${b}) must not be below ${low} (${a})`
            : `${high} (${b}) must not be above ${low} (${a}): fewer days left is worse`,
        });
    }
  });

/** One site's values for the probes' `{{active.<key>}}` / `{{standby.<key>}}` placeholders. */
const siteVarsSchema = z.record(
  z.string().regex(/^[a-z][a-z0-9_]*$/, 'site keys are lower_snake_case'),
  z.string().min(1),
);

export const probesSchema = z
  .object({
    /** Default deadline of each probe (default 10s). */
    timeout: durationWithin(0.01, 600).optional(),
    /** Most checks (requests, connections) in flight at once, across all probes (default 256). */
    concurrency: z.number().int().min(1).max(100000).optional(),
    /** Each cycle starts up to this much after its slot, so many controllers do not probe in step (default 0). */
    jitter: durationSchema.optional(),
    signals: z
      .record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'signal names are lower_snake_case'), probeSchema)
      .optional(),
    /**
     * Each site's addresses, declared once: a probe written with `{{active.<key>}}` / `{{standby.<key>}}`
     * probes the site that serves users / the other one, as the durable site state says (docs/lifecycle.md).
     */
    sites: z
      .object({
        primary: siteVarsSchema.optional(),
        secondary: siteVarsSchema.optional(),
        dr: siteVarsSchema.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ProbesConfig = z.output<typeof probesSchema>;
export type ProbeConfig = z.output<typeof probeSchema>;
export type HttpTargetConfig = z.output<typeof httpTargetSchema>;
export type AgentConfig = z.output<typeof agentSchema>;
