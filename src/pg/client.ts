import type pg from 'pg';
import { redact } from '../log/index.js';

export interface ClientOptions {
  /** How long connecting may take (default 5000 ms). */
  timeoutMs?: number;
  /** Bounds every statement, on the server (`statement_timeout`) and in the client (`query_timeout`); unbounded when unset. */
  queryTimeoutMs?: number;
  /** Shown in `pg_stat_activity.application_name`. */
  applicationName?: string;
  /** Aborting ends the connection, so the work in flight fails instead of waiting. */
  signal?: AbortSignal;
}

/** Connecting failed; the message names the server (without its password) and the driver's reason, kept as `cause`. */
export class PgConnectError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'PgConnectError';
  }
}

/**
 * Runs `work` on a fresh connection and always ends it. The probes, the step actions and the drills
 * share it: one connect timeout, one wording of a connect failure, no password in any message.
 * `pg` is loaded on first use, so what only imports this module does not pay for the driver.
 */
export async function withClient<T>(
  connectionString: string,
  label: string,
  work: (client: pg.Client) => Promise<T>,
  options: ClientOptions = {},
): Promise<T> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({
    connectionString,
    connectionTimeoutMillis: options.timeoutMs ?? 5000,
    ...(options.queryTimeoutMs !== undefined && {
      query_timeout: options.queryTimeoutMs,
      statement_timeout: options.queryTimeoutMs,
    }),
    ...(options.applicationName !== undefined && { application_name: options.applicationName }),
  });
  // Garbage on the wire or a server that drops us must not become an uncaught 'error' event.
  client.on('error', () => undefined);
  const onAbort = () => void client.end().catch(() => undefined);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    try {
      await client.connect();
    } catch (error) {
      throw new PgConnectError(
        `cannot connect to the ${label} (${redact(connectionString)}): ${(error as Error).message}`,
        { cause: error },
      );
    }
    return await work(client);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
}
