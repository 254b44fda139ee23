import { isIP } from 'node:net';
import { z } from 'zod';
import { durationSchema } from './core.js';

/** An http(s) base URL; the gatherers append the API paths themselves. */
const urlSchema = z.url({
  protocol: /^https?$/,
  error: 'expected an http(s) URL such as https://status.example.com',
});

/** Request headers for a source (e.g. `Authorization: Bearer ${PROM_TOKEN}`); values come from the environment. */
const headersSchema = z.record(z.string(), z.string());

const sourceBase = {
  enabled: z.boolean().optional(),
  /** Per-request time limit for this source; the section's `timeout` otherwise. */
  timeout: durationSchema.optional(),
};

/** A DNS server as node:dns takes it: an IP, `IPv4:port` or `[IPv6]:port`. */
function isDnsServer(server: string): boolean {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(server);
  if (bracketed) return isIP(bracketed[1]) === 6;
  return isIP(server) !== 0 || isIP(server.replace(/:\d{1,5}$/, '')) === 4;
}

export const awsHealthSourceSchema = z
  .object({
    ...sourceBase,
    /** Endpoint override (a VPC endpoint, or a local server in tests). */
    endpoint: urlSchema.optional(),
    /** Signing region for `endpoint`. Without `endpoint`, Health's own us-east-1/us-east-2 failover applies. */
    region: z.string().optional(),
    /** Per-region endpoint overrides for the active-passive pair (VPC endpoints; local servers in the lab). */
    endpoints: z
      .object({ 'us-east-1': urlSchema.optional(), 'us-east-2': urlSchema.optional() })
      .strict()
      .optional(),
    /**
     * The DNS servers asked for the CNAME of global.health.amazonaws.com, which names the active Health
     * region (`IP` or `IP:port`): default, the system's resolver; the lab's BIND in drills.
     */
    dns_servers: z
      .array(
        z.string().refine(isDnsServer, {
          message: 'expected an IP address, optionally with a port: 10.0.0.2, 10.0.0.2:53 or [fd00::2]:53',
        }),
      )
      .min(1)
      .optional(),
    /** Static keys (write `${VAR}` references; the lab's stand-ins): otherwise the SDK's default credential chain. */
    access_key_id: z.string().min(1).optional(),
    secret_access_key: z.string().min(1).optional(),
    session_token: z.string().min(1).optional(),
    /** DescribeEventsForOrganization (a delegated administrator or management account). */
    organization: z.boolean().optional(),
    /** Also fetch each open event's latest description (one DescribeEventDetails call). */
    details: z.boolean().optional(),
    /** Only events that started or were updated within this window. */
    since: durationSchema.optional(),
  })
  .strict()
  .refine((s) => Boolean(s.access_key_id) === Boolean(s.secret_access_key), {
    message:
      'access_key_id and secret_access_key go together (or leave both out for the default credential chain)',
    path: ['secret_access_key'],
  });

export const statusPageSourceSchema = z
  .object({
    ...sourceBase,
    /** The status page's base URL, e.g. https://www.cloudflarestatus.com; or a full RSS feed URL with `format: rss`. */
    url: urlSchema,
    format: z.enum(['statuspage', 'rss']).optional(),
    /** Keep only incidents that touch one of these components (case-insensitive substring match). */
    components: z.array(z.string()).optional(),
    headers: headersSchema.optional(),
  })
  .strict();

const metricQuerySchema = z.union([
  z.string().min(1),
  z
    .object({
      query: z.string().min(1),
      /** Evaluate over a range (query_range) and reduce it, instead of one instant query. */
      range: durationSchema.optional(),
      step: durationSchema.optional(),
      reduce: z.enum(['last', 'max', 'min', 'avg']).optional(),
    })
    .strict(),
]);

export const prometheusSourceSchema = z
  .object({
    ...sourceBase,
    url: urlSchema,
    headers: headersSchema.optional(),
    /** Metric name → PromQL. error_rate, p99_latency_ms and request_rate are the ones the analysis reads. */
    queries: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), metricQuerySchema),
  })
  .strict();

export const lokiSourceSchema = z
  .object({
    ...sourceBase,
    url: urlSchema,
    headers: headersSchema.optional(),
    /** LogQL selecting error lines, e.g. {namespace="shop"} |= "error". */
    query: z.string().min(1),
    since: durationSchema.optional(),
    /** Newest N lines. */
    limit: z.number().int().min(1).max(5000).optional(),
    /** Each line is cut to this many characters, and all lines together to max_bytes. */
    max_line_length: z.number().int().min(16).optional(),
    max_bytes: z.number().int().min(256).optional(),
    tenant: z.string().optional(),
  })
  .strict();

export const kubernetesSourceSchema = z
  .object({
    ...sourceBase,
    /** A kubeconfig file; absent: KUBECONFIG, ~/.kube/config or the in-cluster service account. */
    kubeconfig: z.string().optional(),
    context: z.string().optional(),
    namespaces: z.array(z.string().min(1)).optional(),
    /** Rollouts newer than this become `deploy` changes. */
    since: durationSchema.optional(),
  })
  .strict();

export const changesSourceSchema = z
  .object({
    enabled: z.boolean().optional(),
    /** Recorded changes newer than this are part of the context. */
    since: durationSchema.optional(),
  })
  .strict();

/** Context gatherers: where the incident context comes from in the live controller. */
export const contextSchema = z
  .object({
    /** Default per-source time limit. */
    timeout: durationSchema.optional(),
    aws_health: awsHealthSourceSchema.optional(),
    cloudflare: statusPageSourceSchema.optional(),
    azure_status: statusPageSourceSchema.optional(),
    /** Further Statuspage v2 providers, by name (e.g. github, datadog). */
    status_pages: z.record(z.string(), statusPageSourceSchema).optional(),
    prometheus: prometheusSourceSchema.optional(),
    loki: lokiSourceSchema.optional(),
    kubernetes: kubernetesSourceSchema.optional(),
    changes: changesSourceSchema.optional(),
  })
  .strict();

export const LLM_PROVIDERS = ['openai', 'anthropic', 'openai-compatible'] as const;

/** The LLM second opinion (`decision.analyzer: llm | ensemble`). Absent keys fall back to the SDKs' env vars. */
export const llmSchema = z
  .object({
    provider: z.enum(LLM_PROVIDERS).optional(),
    model: z.string().min(1).optional(),
    /** Overrides OPENAI_BASE_URL / ANTHROPIC_BASE_URL, e.g. http://localhost:11434/v1 for Ollama. */
    base_url: urlSchema.optional(),
    /** Write `${OPENAI_API_KEY}`-style references only; the key never goes into the prompt. */
    api_key: z.string().optional(),
    /** OpenAI only: Chat Completions (default) or the Responses API. */
    api: z.enum(['chat', 'responses']).optional(),
    /** How the answer's shape is requested from OpenAI-style servers. */
    structured_output: z.enum(['json_schema', 'json_object', 'none']).optional(),
    /** Per-request limit. */
    timeout: durationSchema.optional(),
    /** Retries after a failed request (0 or 1). */
    retries: z.number().int().min(0).max(1).optional(),
    /** The whole consultation, retries included, never takes longer than this. */
    budget: durationSchema.optional(),
    max_output_tokens: z.number().int().min(64).max(8192).optional(),
    /** The prompt is trimmed (logs first, then history) to stay under this many characters (~4 per token). */
    max_prompt_chars: z.number().int().min(2000).optional(),
    /** Calls per hour on the controller's clock; beyond it the analysis escalates without asking. */
    max_calls_per_hour: z.number().int().min(1).optional(),
    /** Estimated cost cap per call, from the prices below. */
    max_cost_per_call_usd: z.number().positive().optional(),
    price_per_mtok: z
      .object({ input: z.number().nonnegative(), output: z.number().nonnegative() })
      .strict()
      .optional(),
    temperature: z.number().min(0).max(2).optional(),
  })
  .strict();

export type ContextSection = z.output<typeof contextSchema>;
export type LlmSection = z.output<typeof llmSchema>;
export type StatusPageSource = z.output<typeof statusPageSourceSchema>;
export type PrometheusSource = z.output<typeof prometheusSourceSchema>;
export type LokiSource = z.output<typeof lokiSourceSchema>;
export type AwsHealthSource = z.output<typeof awsHealthSourceSchema>;
export type KubernetesSource = z.output<typeof kubernetesSourceSchema>;
