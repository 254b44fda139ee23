import type { ServerSection } from '../config/sections/server.js';
import type { Caller, TokenEntry } from './auth.js';

/** The server section with every default filled in. */
export interface ServerOptions {
  enabled: boolean;
  host: string;
  port: number;
  tokens: TokenEntry[];
  anonymous: Caller['role'];
  webhook: { secret?: string; match: Record<string, string>; dedup_window_s: number };
  cors_origins: string[];
  /** `max` successful mutating requests per token and window; `failures` failed ones per address. */
  rate_limit: { max: number; failures: number; window_s: number };
  stale_after_s: number;
  dashboard: boolean;
  /** Fastify's `trustProxy`: false unless configured, so a client cannot choose its address by header. */
  trust_proxy: boolean | number | string[];
}

export const DEFAULT_LISTEN = '127.0.0.1:8080';

/**
 * `host:port`, `[v6-address]:port`, `:port` or `port` (the host then defaults to 127.0.0.1, never
 * every interface). `what` names the setting in the error, e.g. `server.listen` or `--listen`.
 */
export function parseListen(text: string, what = 'server.listen'): { host: string; port: number } {
  const match = /^(?:(?:\[([^\]]+)\]|([^:\s]*)):)?(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535)
    throw new ListenError(`${what} "${text}" is not an address; write host:port, e.g. 127.0.0.1:8080`);
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

/** A listen address that cannot be parsed: the message names the setting and the fix. */
export class ListenError extends Error {}

export function resolveServerOptions(section: ServerSection | undefined, interval_s: number): ServerOptions {
  const s = section ?? {};
  const { host, port } = parseListen(s.listen ?? DEFAULT_LISTEN);
  return {
    enabled: s.enabled ?? true,
    host,
    port,
    tokens: (s.tokens ?? []).map((t) => ({ name: t.name, token: t.token, role: t.role })),
    anonymous: s.anonymous ?? 'none',
    webhook: {
      secret: s.webhook?.secret,
      match: s.webhook?.match ?? {},
      dedup_window_s: s.webhook?.dedup_window ?? 300,
    },
    cors_origins: s.cors?.origins ?? [],
    rate_limit: {
      max: s.rate_limit?.max ?? 30,
      failures: s.rate_limit?.failures ?? 20,
      window_s: s.rate_limit?.window ?? 60,
    },
    stale_after_s: s.stale_after ?? interval_s * 3,
    dashboard: s.dashboard ?? true,
    trust_proxy: s.trust_proxy ?? false,
  };
}
