import pg from 'pg';
import { StepError } from '../types.js';

/** Runs one statement on a fresh connection; errors name the server and the fix. */
export async function withClient<T>(
  connectionString: string,
  label: string,
  work: (client: pg.Client) => Promise<T>,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: options.timeoutMs ?? 5000 });
  client.on('error', () => undefined);
  const onAbort = () => void client.end().catch(() => undefined);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    try {
      await client.connect();
    } catch (error) {
      throw new StepError(
        `cannot connect to the ${label} (${redact(connectionString)}): ${(error as Error).message}`,
      );
    }
    return await work(client);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
}

/** A connection string without its password, for messages and the journal. */
export function redact(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return connectionString.replace(/password=\S+/gi, 'password=***');
  }
}

export function connectionSchemaNote(): string {
  return 'a postgresql:// connection string (put the password in ${VAR})';
}
