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
}

export const DEFAULT_LISTEN = '127.0.0.1:8080';

export function parseListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(at + 1));
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`server.listen "${listen}" is not host:port; write e.g. 127.0.0.1:8080`);
  return { host, port };
}

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
  };
}
